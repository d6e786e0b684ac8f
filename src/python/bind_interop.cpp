// DLPack exchange both ways: Tensor.__dlpack__/__dlpack_device__ and ctorch.from_dlpack (zero-copy).
#include "bind.h"
#include "dlpack.h"

namespace ctorch::python {

namespace {

constexpr const char* kDlName = "dltensor";
constexpr const char* kDlUsedName = "used_dltensor";
constexpr const char* kDlVerName = "dltensor_versioned";
constexpr const char* kDlVerUsedName = "used_dltensor_versioned";

DLDataType dl_dtype_of(DType t) {
  switch (t) {
    case DType::Bool: return {kDLBool, 8, 1};
    case DType::UInt8: return {kDLUInt, 8, 1};
    case DType::Int8: return {kDLInt, 8, 1};
    case DType::Int16: return {kDLInt, 16, 1};
    case DType::Int32: return {kDLInt, 32, 1};
    case DType::Int64: return {kDLInt, 64, 1};
    case DType::Float16: return {kDLFloat, 16, 1};
    case DType::BFloat16: return {kDLBfloat, 16, 1};
    case DType::Float32: return {kDLFloat, 32, 1};
    case DType::Float64: return {kDLFloat, 64, 1};
  }
  throw Error(ErrorKind::Type, "[__dlpack__] unsupported dtype");
}

std::optional<DType> dl_dtype_to_ctorch(DLDataType d) {
  if (d.lanes != 1) return std::nullopt;
  switch (d.code) {
    case kDLBool: if (d.bits == 8) return DType::Bool; break;
    case kDLUInt: if (d.bits == 8) return DType::UInt8; break;
    case kDLInt:
      if (d.bits == 8) return DType::Int8;
      if (d.bits == 16) return DType::Int16;
      if (d.bits == 32) return DType::Int32;
      if (d.bits == 64) return DType::Int64;
      break;
    case kDLFloat:
      if (d.bits == 16) return DType::Float16;
      if (d.bits == 32) return DType::Float32;
      if (d.bits == 64) return DType::Float64;
      break;
    case kDLBfloat: if (d.bits == 16) return DType::BFloat16; break;
    default: break;
  }
  return std::nullopt;
}

DLDevice dl_device_of(Device d) {
  if (d.is_cpu()) return {kDLCPU, 0};
  return {kDLCUDA, d.index < 0 ? 0 : d.index};
}

// What an exported capsule owns: a reference to the tensor (so its storage outlives the consumer's
// use) and the shape/stride arrays the DLTensor points into.
struct DlExportCtx {
  Tensor tensor;
  std::vector<int64_t> shape, strides;
  DLManagedTensor legacy{};
  DLManagedTensorVersioned versioned{};
};

void dl_fill(DLTensor& dl, DlExportCtx& ctx) {
  const Tensor& t = ctx.tensor;
  ctx.shape.assign(t.sizes().begin(), t.sizes().end());
  ctx.strides.assign(t.strides().begin(), t.strides().end());
  dl.data = t.data_ptr();
  dl.device = dl_device_of(t.device());
  dl.ndim = static_cast<int32_t>(t.dim());
  dl.dtype = dl_dtype_of(t.dtype());
  dl.shape = ctx.shape.data();
  dl.strides = ctx.strides.data();
  dl.byte_offset = 0;
}

// A capsule that nobody consumed still owns its tensor: free it (a consumed one was renamed).
void dl_legacy_capsule_destructor(PyObject* cap) {
  if (!PyCapsule_IsValid(cap, kDlName)) return;
  auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, kDlName));
  if (m && m->deleter) m->deleter(m);
}
void dl_versioned_capsule_destructor(PyObject* cap) {
  if (!PyCapsule_IsValid(cap, kDlVerName)) return;
  auto* m = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(cap, kDlVerName));
  if (m && m->deleter) m->deleter(m);
}

py::object dl_export(const Tensor& t, bool versioned, bool copied) {
  auto* ctx = new DlExportCtx();
  ctx->tensor = t;
  if (versioned) {
    DLManagedTensorVersioned& m = ctx->versioned;
    dl_fill(m.dl_tensor, *ctx);
    m.version = {CTORCH_DLPACK_MAJOR_VERSION, CTORCH_DLPACK_MINOR_VERSION};
    m.manager_ctx = ctx;
    m.deleter = [](DLManagedTensorVersioned* self) { delete static_cast<DlExportCtx*>(self->manager_ctx); };
    m.flags = copied ? CTORCH_DLPACK_FLAG_IS_COPIED : 0;
    PyObject* cap = PyCapsule_New(&m, kDlVerName, dl_versioned_capsule_destructor);
    if (!cap) { delete ctx; throw py::error_already_set(); }
    return py::reinterpret_steal<py::object>(cap);
  }
  DLManagedTensor& m = ctx->legacy;
  dl_fill(m.dl_tensor, *ctx);
  m.manager_ctx = ctx;
  m.deleter = [](DLManagedTensor* self) { delete static_cast<DlExportCtx*>(self->manager_ctx); };
  PyObject* cap = PyCapsule_New(&m, kDlName, dl_legacy_capsule_destructor);
  if (!cap) { delete ctx; throw py::error_already_set(); }
  return py::reinterpret_steal<py::object>(cap);
}

// Storage deleters for imported memory: hand it back to the producer. Producers' deleters may
// touch Python objects (NumPy's does), so they run with the GIL held.
void dl_release_legacy(void* ctx, void*) {
  auto* m = static_cast<DLManagedTensor*>(ctx);
  if (!m->deleter || !Py_IsInitialized()) return;
  py::gil_scoped_acquire gil;
  m->deleter(m);
}
void dl_release_versioned(void* ctx, void*) {
  auto* m = static_cast<DLManagedTensorVersioned*>(ctx);
  if (!m->deleter || !Py_IsInitialized()) return;
  py::gil_scoped_acquire gil;
  m->deleter(m);
}

Tensor dl_import(py::handle capsule) {
  PyObject* cap = capsule.ptr();
  bool versioned;
  if (PyCapsule_IsValid(cap, kDlVerName)) {
    versioned = true;
  } else if (PyCapsule_IsValid(cap, kDlName)) {
    versioned = false;
  } else {
    CTORCH_CHECK(!PyCapsule_IsValid(cap, kDlUsedName) && !PyCapsule_IsValid(cap, kDlVerUsedName),
                 "[from_dlpack] received an invalid capsule: DLPack capsules can be consumed only "
                 "once, and this one was already used");
    throw Error(ErrorKind::Type, "[from_dlpack] expected a 'dltensor' or 'dltensor_versioned' capsule");
  }
  DLManagedTensor* legacy = nullptr;
  DLManagedTensorVersioned* ver = nullptr;
  DLTensor* dl;
  if (versioned) {
    ver = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(cap, kDlVerName));
    if (ver->version.major > CTORCH_DLPACK_MAJOR_VERSION) {
      // The producer's memory is ours once we look at it: release it before refusing.
      PyCapsule_SetName(cap, kDlVerUsedName);
      uint32_t major = ver->version.major;
      if (ver->deleter) ver->deleter(ver);
      throw py::buffer_error(str_cat("[from_dlpack] DLPack version ", major, " is newer than the "
                                     "supported version ", CTORCH_DLPACK_MAJOR_VERSION));
    }
    dl = &ver->dl_tensor;
  } else {
    legacy = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, kDlName));
    dl = &legacy->dl_tensor;
  }

  // Validate everything before consuming, so a refused capsule is still freed by its destructor.
  std::optional<DType> dtype = dl_dtype_to_ctorch(dl->dtype);
  CTORCH_CHECK_TYPE(dtype.has_value(), "[from_dlpack] unsupported DLPack dtype (code ",
                    int(dl->dtype.code), ", bits ", int(dl->dtype.bits), ", lanes ", dl->dtype.lanes,
                    "); supported: bool, uint8, int8-64, float16, bfloat16, float32, float64");
  Device device;
  switch (dl->device.device_type) {
    case kDLCPU: case kDLCUDAHost: device = Device(); break;
    case kDLCUDA: case kDLCUDAManaged: device = Device(DeviceType::CUDA, dl->device.device_id); break;
    default:
      throw py::buffer_error(str_cat("[from_dlpack] unsupported DLPack device type ",
                                     int(dl->device.device_type)));
  }
  CTORCH_CHECK(dl->ndim >= 0, "[from_dlpack] invalid ndim ", dl->ndim);
  DimVector sizes, strides;
  for (int32_t d = 0; d < dl->ndim; ++d) {
    CTORCH_CHECK(dl->shape[d] >= 0, "[from_dlpack] negative size ", dl->shape[d]);
    sizes.push_back(dl->shape[d]);
  }
  strides.resize(sizes.size());
  int64_t numel = 1;
  for (int64_t s : sizes) numel *= s;
  int64_t isz = static_cast<int64_t>(element_size(*dtype));
  int64_t extent = 0;
  for (size_t i = sizes.size(), expected = 1; i-- > 0;) {
    int64_t st = dl->strides ? dl->strides[i] : static_cast<int64_t>(expected);
    CTORCH_CHECK_VALUE(st >= 0 || sizes[i] <= 1, "[from_dlpack] tensors with negative strides are "
                       "not supported (copy the source first)");
    if (sizes[i] <= 1 && st < 0) st = 0;
    strides[i] = st;
    extent += (sizes[i] - 1) * st;
    expected *= static_cast<size_t>(sizes[i]);
  }
  size_t nbytes = numel == 0 ? 0 : static_cast<size_t>((extent + 1) * isz);
  void* data = static_cast<char*>(dl->data) + dl->byte_offset;

  PyCapsule_SetName(cap, versioned ? kDlVerUsedName : kDlUsedName);
  Storage s = versioned ? wrap_storage(data, nbytes, device, dl_release_versioned, ver)
                        : wrap_storage(data, nbytes, device, dl_release_legacy, legacy);
  return Tensor(std::make_shared<TensorImpl>(std::move(s), std::move(sizes), std::move(strides), 0, *dtype));
}

std::optional<bool> dl_opt_bool(const py::object& o) {
  if (o.is_none()) return std::nullopt;
  return o.cast<bool>();
}

Device dl_parse_device(py::handle dev) {
  py::tuple t = py::reinterpret_borrow<py::tuple>(dev);
  CTORCH_CHECK_TYPE(py::isinstance<py::tuple>(dev) && t.size() == 2,
                    "[__dlpack__] dl_device must be a (device_type, device_id) tuple");
  int type = t[0].cast<int>(), id = t[1].cast<int>();
  if (type == kDLCPU) return Device();
  if (type == kDLCUDA) return Device(DeviceType::CUDA, id);
  throw py::buffer_error(str_cat("[__dlpack__] unsupported dl_device type ", type));
}

bool dl_same_device(Device a, Device b) {
  return a.type == b.type && (a.is_cpu() || (a.index < 0 ? 0 : a.index) == (b.index < 0 ? 0 : b.index));
}

}  // namespace

void bind_interop(py::module_& m) {
  tensor_class().def("__dlpack__", [](const Tensor& t, py::object stream, py::object max_version,
                                      py::object dl_device, py::object copy) {
    CTORCH_CHECK_TYPE(stream.is_none() || PyLong_Check(stream.ptr()),
                      "[__dlpack__] stream must be None or an int, got ", Py_TYPE(stream.ptr())->tp_name);
    // Consumers that know DLPack >= 1.0 say so through max_version; others get the legacy capsule.
    bool versioned = false;
    if (!max_version.is_none()) {
      py::tuple v = max_version.cast<py::tuple>();
      CTORCH_CHECK_TYPE(v.size() >= 1, "[__dlpack__] max_version must be a (major, minor) tuple");
      versioned = v[0].cast<int64_t>() >= 1;
    }
    std::optional<bool> want_copy = dl_opt_bool(copy);
    Tensor src = t;
    bool copied = false;
    if (!dl_device.is_none()) {
      Device target = dl_parse_device(dl_device);
      if (!dl_same_device(target, t.device())) {
        if (want_copy == false)
          throw py::buffer_error(str_cat("[__dlpack__] the tensor is on ", t.device().str(),
                                         ": exporting it to ", target.str(), " needs a copy, but copy=False"));
        py::gil_scoped_release nogil;
        src = to(t, t.dtype(), target, true);
        copied = true;
      }
    }
    if (want_copy == true && !copied) {
      src = clone(t);
      copied = true;
    }
    return dl_export(src, versioned, copied);
  }, py::arg("stream") = py::none(), py::kw_only(), py::arg("max_version") = py::none(),
     py::arg("dl_device") = py::none(), py::arg("copy") = py::none());

  tensor_class().def("__dlpack_device__", [](const Tensor& t) {
    DLDevice d = dl_device_of(t.device());
    return py::make_tuple(static_cast<int>(d.device_type), d.device_id);
  });

  m.def("from_dlpack", [](py::object obj, py::object device, py::object copy) -> Tensor {
    if (PyCapsule_CheckExact(obj.ptr())) {
      CTORCH_CHECK_VALUE(device.is_none() && copy.is_none(), "[from_dlpack] device= and copy= need "
                         "an object with __dlpack__, not a capsule");
      return dl_import(obj);
    }
    CTORCH_CHECK_TYPE(py::hasattr(obj, "__dlpack__"), "[from_dlpack] expected an object with "
                      "__dlpack__ or a DLPack capsule, got ", Py_TYPE(obj.ptr())->tp_name);
    py::dict kw;
    if (!device.is_none()) {
      DLDevice d = dl_device_of(device.cast<Device>());
      kw["dl_device"] = py::make_tuple(static_cast<int>(d.device_type), d.device_id);
    }
    if (!copy.is_none()) kw["copy"] = copy;
    py::object capsule;
    try {
      capsule = obj.attr("__dlpack__")(**kw, py::arg("max_version") = py::make_tuple(
          CTORCH_DLPACK_MAJOR_VERSION, CTORCH_DLPACK_MINOR_VERSION));
    } catch (py::error_already_set& e) {
      // Producers older than DLPack 1.0 do not take max_version (nor dl_device/copy).
      if (!e.matches(PyExc_TypeError)) throw;
      capsule = obj.attr("__dlpack__")(**kw);
    }
    return dl_import(capsule);
  }, py::arg("ext_tensor"), py::kw_only(), py::arg("device") = py::none(), py::arg("copy") = py::none());
}

}  // namespace ctorch::python
