// Where a tensor lives: "cpu" or "cuda:N".
#pragma once
#include <string>
#include "ctorch/core/macros.h"

namespace ctorch {

enum class DeviceType : int8_t { CPU, CUDA };

struct CTORCH_API Device {
  DeviceType type = DeviceType::CPU;
  int index = -1;  // -1: the current device of that type

  Device() = default;
  Device(DeviceType t, int i = -1) : type(t), index(i) {}
  explicit Device(const std::string& spec);  // "cpu", "cuda", "cuda:1"
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  std::string str() const;
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

}  // namespace ctorch
