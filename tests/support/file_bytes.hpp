// A whole test file as bytes; throws (loudly failing the test) when it is missing, e.g. when
// the shared corpus is not beside the repository. Header-only: shared by unit tests.
#pragma once

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace countylink::testing {

inline std::vector<std::byte> file_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("missing corpus file " + path.string() + ": is ../shared there?");
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(chars.size());
    std::memcpy(out.data(), chars.data(), chars.size());
    return out;
}

}  // namespace countylink::testing
