// A fresh directory under the system temp dir for one test, removed (with its contents) when
// the test is done. Header-only: shared by unit and integration tests.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

namespace countylink::testing {

class TempDir {
  public:
    TempDir() : TempDir(std::filesystem::temp_directory_path()) {}
    // Under `base` instead, e.g. a tmpfs for benchmarks that must not measure the disk.
    explicit TempDir(const std::filesystem::path& base) {
        std::random_device rd;
        path_ =
            base / ("countylink-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

}  // namespace countylink::testing
