// Python bindings of the JPEG region decoder.
#include <torch/extension.h>

#include "jpeg_region.h"

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "Decode part of a JPEG at 1/1, 1/2, 1/4 or 1/8 of its size (libjpeg-turbo)";
  m.def("decode_region", &jpeg_region::decode_region, "decode rows [y0, y1), columns [x0, x1)",
        py::arg("path"), py::arg("reduction"), py::arg("x0"), py::arg("y0"), py::arg("x1"), py::arg("y1"),
        py::call_guard<py::gil_scoped_release>());
  m.def("scaled_size", &jpeg_region::scaled_size, "(width, height) at 1/reduction",
        py::arg("path"), py::arg("reduction"));
}
