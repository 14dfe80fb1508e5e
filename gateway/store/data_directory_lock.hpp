// One process at a time may change a data directory: countylinkd, or a countylinkctl command
// that deletes (purge). A second countylinkd's start-up recovery would remove the first one's
// half-written objects as leftovers, so the lock is taken before anything is touched.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "codecs/io/file.hpp"

namespace countylink::store {

class DataDirectoryLock {
  public:
    // Locks `<dir>/lock` (flock, exclusive), naming `holder` and our pid in it. Throws
    // std::runtime_error saying who holds it (and what to do) when another process does.
    DataDirectoryLock(const std::filesystem::path& dir, std::string_view holder);

  private:
    io::UniqueFd fd_;  // the lock lives as long as the descriptor; the kernel drops it on exit
};

}  // namespace countylink::store
