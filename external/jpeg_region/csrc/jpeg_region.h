// Decoding part of a JPEG at a reduced size: libjpeg scales in the DCT (1/2, 1/4, 1/8),
// decodes only the columns of the region (jpeg_crop_scanline), skips the colour conversion and
// inverse DCT of the rows above it (jpeg_skip_scanlines) and stops after its last row.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <tuple>

namespace jpeg_region {

// Decodes rows [y0, y1) and at least columns [x0, x1) of the image scaled by 1/reduction
// (coordinates in the scaled image, clamped to it). Returns (pixels (h, w, 3) uint8 RGB, the
// region's left and top in the scaled image, the scaled image's width and height). The left
// edge moves left to a block boundary, so the region may be wider than asked.
std::tuple<at::Tensor, int64_t, int64_t, int64_t, int64_t> decode_region(
    const std::string& path, int64_t reduction, int64_t x0, int64_t y0, int64_t x1, int64_t y1);

// (width, height) of the image scaled by 1/reduction, from its header.
std::tuple<int64_t, int64_t> scaled_size(const std::string& path, int64_t reduction);

}  // namespace jpeg_region
