#include "gateway/server/log.hpp"

#include <chrono>
#include <ctime>
#include <iostream>

namespace countylink::server {

LogLevel Log::parse_level(std::string_view name) {
    if (name == "debug") return LogLevel::debug;
    if (name == "warn") return LogLevel::warn;
    if (name == "error") return LogLevel::error;
    return LogLevel::info;
}

void Log::emit(LogLevel level, const std::string& text) {
    static constexpr const char* kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    char millis[8];
    std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(ms));
    std::string line =
        std::string(stamp) + millis + " " + kNames[static_cast<int>(level)] + " " + text + "\n";
    std::lock_guard lock(mutex_);
    std::cerr << line << std::flush;
}

}  // namespace countylink::server
