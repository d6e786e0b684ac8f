// Shared-memory tensors: Tensor.share_memory_/is_shared and the fd hooks ctorch.multiprocessing uses.
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
    CTORCH_CHECK(sizes.size() == strides.size(), "[_tensor_from_shm_fd] sizes and strides differ in length");
    Storage s = shm_storage_from_fd(fd, nbytes);
    return Tensor(std::make_shared<TensorImpl>(std::move(s), DimVector(IntArrayRef(sizes)),
                                               DimVector(IntArrayRef(strides)), offset, dtype));
  });
}

}  // namespace ctorch::python
