// The shared test data beside the repository (../shared: corpus/, ecg-quality/), as
// COUNTYLINK_SHARED_DIR names it. Reading a missing file fails the test loudly (read_bytes).
#pragma once

#include <filesystem>
#include <string_view>

#ifndef COUNTYLINK_SHARED_DIR
#error "COUNTYLINK_SHARED_DIR (path to the shared test corpus) must be defined"
#endif

namespace countylink::testing {

// ../shared/<relative>, e.g. shared_path("corpus/ecg").
inline std::filesystem::path shared_path(std::string_view relative) {
    return std::filesystem::path(COUNTYLINK_SHARED_DIR) / relative;
}

}  // namespace countylink::testing
