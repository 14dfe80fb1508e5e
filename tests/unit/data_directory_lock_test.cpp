// The data-directory lock: one holder at a time, the refusal names the holder, it is free again
// once the holder is gone, and a lock file that is a symlink is refused (a purge runs as root).
#include "gateway/store/data_directory_lock.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace countylink::store {
namespace {

using countylink::testing::TempDir;

TEST(DataDirectoryLock, OneHolderAtATimeAndTheRefusalNamesIt) {
    TempDir dir;
    std::optional<DataDirectoryLock> first;
    first.emplace(dir.path(), "countylinkd");
    try {
        DataDirectoryLock second(dir.path(), "countylinkctl purge");
        FAIL() << "a second holder got the lock";
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("is in use by countylinkd (pid " + std::to_string(::getpid()) + ")"),
                  std::string::npos)
            << what;
        EXPECT_NE(what.find("stop it first"), std::string::npos) << what;
    }
    first.reset();
    EXPECT_NO_THROW(DataDirectoryLock(dir.path(), "countylinkctl purge"));
}

TEST(DataDirectoryLock, RefusesALockFileThatIsASymlink) {
    TempDir dir;
    const auto target = dir.path() / "precious";
    std::ofstream(target) << "keep me\n";
    std::filesystem::create_directory(dir.path() / "data");
    std::filesystem::create_symlink(target, dir.path() / "data" / "lock");
    EXPECT_ANY_THROW(DataDirectoryLock(dir.path() / "data", "countylinkctl purge"));
    std::ifstream in(target);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "keep me");  // not truncated through the link
}

}  // namespace
}  // namespace countylink::store
