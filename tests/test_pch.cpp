// The target that carries the tests' precompiled header (tests/CMakeLists.txt, voxgrad_test_pch).
int main() { return 0; }
