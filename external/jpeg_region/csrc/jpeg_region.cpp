#include "jpeg_region.h"

#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <jpeglib.h>

namespace jpeg_region {
namespace {

// libjpeg reports errors by calling error_exit, which must not return: jump back to the
// caller, which turns the message into an exception once libjpeg's state is released.
struct ErrorManager {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  int warnings = 0;
  char first_warning[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr info) {
  auto* errors = reinterpret_cast<ErrorManager*>(info->err);
  (*info->err->format_message)(info, errors->message);
  std::longjmp(errors->jump, 1);
}

// Corrupt data is reported as a warning and decoded as grey: count it so that it is an error.
void on_message(j_common_ptr info, int level) {
  auto* errors = reinterpret_cast<ErrorManager*>(info->err);
  if (level < 0) {
    if (errors->warnings == 0) (*info->err->format_message)(info, errors->first_warning);
    ++errors->warnings;
  }
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

struct Decoder {
  jpeg_decompress_struct info;
  ErrorManager errors;
  std::unique_ptr<std::FILE, FileCloser> file;

  explicit Decoder(const std::string& path) : file(std::fopen(path.c_str(), "rb")) {
    TORCH_CHECK(file != nullptr, "cannot open ", path);
    info.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = on_error;
    errors.manager.emit_message = on_message;
    jpeg_create_decompress(&info);
    jpeg_stdio_src(&info, file.get());
  }
  ~Decoder() { jpeg_destroy_decompress(&info); }
};

void check_reduction(int64_t reduction) {
  TORCH_CHECK(reduction == 1 || reduction == 2 || reduction == 4 || reduction == 8,
              "reduction must be 1, 2, 4 or 8, got ", reduction);
}

}  // namespace

std::tuple<at::Tensor, int64_t, int64_t, int64_t, int64_t> decode_region(
    const std::string& path, int64_t reduction, int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
  check_reduction(reduction);
  Decoder decoder(path);
  jpeg_decompress_struct& info = decoder.info;
  at::Tensor pixels;
  int64_t left = 0, top = 0, width = 0, height = 0;
  if (setjmp(decoder.errors.jump)) {
    TORCH_CHECK(false, "JPEG decoding failed: ", decoder.errors.message);
  }
  jpeg_read_header(&info, TRUE);
  info.scale_num = 1;
  info.scale_denom = static_cast<unsigned int>(reduction);
  info.out_color_space = JCS_RGB;
  jpeg_start_decompress(&info);
  width = info.output_width;
  height = info.output_height;
  x0 = std::clamp<int64_t>(x0, 0, width - 1);
  x1 = std::clamp<int64_t>(x1, x0 + 1, width);
  y0 = std::clamp<int64_t>(y0, 0, height - 1);
  y1 = std::clamp<int64_t>(y1, y0 + 1, height);
  JDIMENSION crop_left = static_cast<JDIMENSION>(x0);
  JDIMENSION crop_width = static_cast<JDIMENSION>(x1 - x0);
  if (crop_width < info.output_width) jpeg_crop_scanline(&info, &crop_left, &crop_width);
  // Skip whole block rows, ending one block row above the region: chroma upsampling needs the
  // rows just above it decoded, or the region's pixels would differ from a whole decode.
  const int64_t block_rows = static_cast<int64_t>(info.max_v_samp_factor) * info.min_DCT_scaled_size;
  const int64_t skip = std::max<int64_t>(0, (y0 / block_rows - 1) * block_rows);
  if (skip > 0) jpeg_skip_scanlines(&info, static_cast<JDIMENSION>(skip));
  left = crop_left;
  top = y0;
  pixels = at::empty({y1 - y0, static_cast<int64_t>(crop_width), 3}, at::kByte);
  uint8_t* base = pixels.data_ptr<uint8_t>();
  const int64_t stride = static_cast<int64_t>(crop_width) * 3;
  std::vector<uint8_t> discard(static_cast<size_t>(stride));
  while (static_cast<int64_t>(info.output_scanline) < y1) {
    const int64_t line = info.output_scanline;
    JSAMPROW row = line < y0 ? discard.data() : base + (line - y0) * stride;
    jpeg_read_scanlines(&info, &row, 1);
  }
  // The rows below are not needed: stop without decoding them.
  jpeg_abort_decompress(&info);
  TORCH_CHECK(decoder.errors.warnings == 0, "corrupt JPEG data: ", decoder.errors.first_warning);
  return {pixels, left, top, width, height};
}

std::tuple<int64_t, int64_t> scaled_size(const std::string& path, int64_t reduction) {
  check_reduction(reduction);
  Decoder decoder(path);
  if (setjmp(decoder.errors.jump)) {
    TORCH_CHECK(false, "JPEG header unreadable: ", decoder.errors.message);
  }
  jpeg_read_header(&decoder.info, TRUE);
  decoder.info.scale_num = 1;
  decoder.info.scale_denom = static_cast<unsigned int>(reduction);
  jpeg_calc_output_dimensions(&decoder.info);
  return {decoder.info.output_width, decoder.info.output_height};
}

}  // namespace jpeg_region
