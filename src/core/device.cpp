// Device parsing and printing.
#include "ctorch/core/device.h"
#include "ctorch/core/error.h"

namespace ctorch {

Device::Device(const std::string& spec) {
  std::string kind = spec, idx;
  auto colon = spec.find(':');
  if (colon != std::string::npos) { kind = spec.substr(0, colon); idx = spec.substr(colon + 1); }
  if (kind == "cpu") type = DeviceType::CPU;
  else if (kind == "cuda") type = DeviceType::CUDA;
  else throw_error(ErrorKind::Runtime,
                   "Expected one of cpu, cuda device type at start of device string: " + spec);
  if (colon != std::string::npos) {
    bool digits = !idx.empty() && idx.size() < 6;
    for (char c : idx) digits = digits && c >= '0' && c <= '9';
    CTORCH_CHECK(digits, "Invalid device string: '", spec, "'");
    index = std::stoi(idx);
  }
}

std::string Device::str() const {
  std::string s = type == DeviceType::CPU ? "cpu" : "cuda";
  return index >= 0 ? s + ":" + std::to_string(index) : s;
}

}  // namespace ctorch
