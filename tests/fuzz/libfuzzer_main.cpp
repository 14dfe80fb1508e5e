// The libFuzzer entry point of one target; COUNTYLINK_FUZZ_ENTRY names it (tests/fuzz/CMakeLists).
#include <cstddef>
#include <cstdint>
#include <span>

#include "tests/fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return countylink::fuzz::COUNTYLINK_FUZZ_ENTRY(
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), size));
}
