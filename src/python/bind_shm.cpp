// Shared-memory tensors: Tensor.share_memory_/is_shared and the fd hooks ctorch.multiprocessing uses.
#include <unistd.h>

#include "bind.h"
#include "ctorch/core/shared_memory.h"

namespace ctorch::python {

void bind_shm(py::module_& m) {
  auto& c = tensor_class();
  c.def("share_memory_", [](const Tensor& t) { share_memory_(t); return t; });
  c.def("is_shared", [](const Tensor& t) { return shm_is_shared(*t.storage()); });
  // (fd, storage nbytes) of a tensor whose storage is in shared memory.
  c.def("_shm_handle", [](const Tensor& t) {
    int fd = shm_storage_fd(*t.storage());
    CTORCH_CHECK(fd >= 0, "[_shm_handle] the tensor's storage is not in shared memory");
    return py::make_tuple(fd, t.storage()->nbytes);
  });
  // A tensor over the segment behind `fd` (owned from here on) with the given geometry.
  m.def("_tensor_from_shm_fd", [](int fd, size_t nbytes, DType dtype, std::vector<int64_t> sizes,
                                  std::vector<int64_t> strides, int64_t offset) {
    // The handle comes from another process: make sure the view stays inside the segment.
    bool ok = sizes.size() == strides.size() && offset >= 0, empty = false;
    int64_t last = offset;
    for (size_t d = 0; ok && d < sizes.size(); ++d) {
      ok = sizes[d] >= 0 && strides[d] >= 0;
      if (sizes[d] == 0) empty = true;
      else last += (sizes[d] - 1) * strides[d];
    }
    ok = ok && (empty || static_cast<size_t>((last + 1) * static_cast<int64_t>(element_size(dtype))) <= nbytes);
    if (!ok) close(fd);  // the descriptor was handed to us either way
    CTORCH_CHECK(ok, "[_tensor_from_shm_fd] a tensor of this geometry does not fit in ", nbytes,
                 " bytes of shared memory");
    Storage s = shm_storage_from_fd(fd, nbytes);
    return Tensor(std::make_shared<TensorImpl>(std::move(s), DimVector(IntArrayRef(sizes)),
                                               DimVector(IntArrayRef(strides)), offset, dtype));
  });
}

}  // namespace ctorch::python
