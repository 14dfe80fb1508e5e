// Every fuzz target, compiled with the normal compiler, fed its seeds and every input saved in
// tests/fuzz/regressions/<target>/ (crashes the fuzzers found once, kept so they stay fixed).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "tests/fuzz/targets.hpp"

namespace countylink::fuzz {
namespace {

namespace fs = std::filesystem;

class FuzzReplay : public ::testing::TestWithParam<Target> {};

}  // namespace

// How gtest and ctest name a target: by its name.
void PrintTo(const Target& target, std::ostream* out) {
    *out << target.name;
}

namespace {

TEST_P(FuzzReplay, SeedsAndSavedCrashInputsPass) {
    const Target target = GetParam();
    const auto seed_inputs = seeds(target.name, COUNTYLINK_SHARED_DIR, COUNTYLINK_SOURCE_DIR);
    ASSERT_FALSE(seed_inputs.empty());
    for (const auto& [name, bytes] : seed_inputs) {
        SCOPED_TRACE("seed " + name);
        EXPECT_EQ(target.entry(bytes), 0);
    }
    const fs::path saved =
        fs::path(COUNTYLINK_SOURCE_DIR) / "tests" / "fuzz" / "regressions" / target.name;
    ASSERT_TRUE(fs::is_directory(saved)) << saved;
    int replayed = 0;
    for (const auto& e : fs::directory_iterator(saved)) {
        if (e.path().filename() == ".gitkeep") continue;
        std::ifstream in(e.path(), std::ios::binary);
        std::vector<char> chars((std::istreambuf_iterator<char>(in)), {});
        std::vector<std::byte> bytes(chars.size());
        if (!chars.empty()) std::memcpy(bytes.data(), chars.data(), chars.size());
        SCOPED_TRACE("saved input " + e.path().string());
        EXPECT_EQ(target.entry(bytes), 0);
        ++replayed;
    }
    RecordProperty("saved_inputs", replayed);
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplay, ::testing::ValuesIn(kTargets),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace countylink::fuzz
