// Wall-clock time as the index and the APIs record it: Unix epoch milliseconds.
#pragma once

#include <chrono>
#include <cstdint>

namespace countylink::server {

inline int64_t unix_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace countylink::server
