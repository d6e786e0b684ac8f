// The DLPack ABI (v1.0): the C structs exchanged through "dltensor"/"dltensor_versioned" capsules.
// Written from the public specification (dmlc/dlpack, data-apis.org); layouts must match exactly.
#pragma once
#include <cstdint>

extern "C" {

#define CTORCH_DLPACK_MAJOR_VERSION 1
#define CTORCH_DLPACK_MINOR_VERSION 0

// DLManagedTensorVersioned::flags bits.
#define CTORCH_DLPACK_FLAG_READ_ONLY (UINT64_C(1) << 0)
#define CTORCH_DLPACK_FLAG_IS_COPIED (UINT64_C(1) << 1)

typedef enum {
  kDLCPU = 1,
  kDLCUDA = 2,
  kDLCUDAHost = 3,
  kDLOpenCL = 4,
  kDLVulkan = 7,
  kDLMetal = 8,
  kDLVPI = 9,
  kDLROCM = 10,
  kDLROCMHost = 11,
  kDLExtDev = 12,
  kDLCUDAManaged = 13,
  kDLOneAPI = 14,
  kDLWebGPU = 15,
  kDLHexagon = 16,
} DLDeviceType;

typedef struct {
  DLDeviceType device_type;
  int32_t device_id;
} DLDevice;

typedef enum {
  kDLInt = 0,
  kDLUInt = 1,
  kDLFloat = 2,
  kDLOpaqueHandle = 3,
  kDLBfloat = 4,
  kDLComplex = 5,
  kDLBool = 6,
} DLDataTypeCode;

typedef struct {
  uint8_t code;   // a DLDataTypeCode
  uint8_t bits;   // bits per lane
  uint16_t lanes; // 1 for scalar element types
} DLDataType;

typedef struct {
  void* data;            // base pointer; the first element is at data + byte_offset
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;        // ndim entries
  int64_t* strides;      // ndim entries in elements, or NULL for compact row-major
  uint64_t byte_offset;
} DLTensor;

typedef struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensor* self);  // called by the consumer when done (may be NULL)
} DLManagedTensor;

typedef struct {
  uint32_t major;
  uint32_t minor;
} DLPackVersion;

typedef struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensorVersioned* self);
  uint64_t flags;
  DLTensor dl_tensor;
} DLManagedTensorVersioned;

}  // extern "C"
