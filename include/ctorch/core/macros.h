// Portability macros shared by host and CUDA code.
#pragma once
#ifdef __CUDACC__
#define CTORCH_HD __host__ __device__
#else
#define CTORCH_HD
#endif
#define CTORCH_API __attribute__((visibility("default")))
