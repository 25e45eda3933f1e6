#pragma once
// Internal: included last by the .cpp files that reproduce PyTorch's Python-side arithmetic (the LR
// schedulers, and the optimizers' scalar formulas). Python rounds after every operation; a fused
// multiply-add (which -march=native lets the compiler form) changes the last bits, so floating-point
// contraction is switched off for the rest of the including file.

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
