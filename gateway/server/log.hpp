// The service log: one line per event on stderr (journald adds the time when run by systemd,
// we add it anyway for plain runs). Lines carry identifiers, never patient names or IDs.
#pragma once

#include <mutex>
#include <sstream>
#include <string>
#include <string_view>

namespace countylink::server {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

class Log {
  public:
    explicit Log(LogLevel threshold = LogLevel::info) : threshold_(threshold) {}
    // "debug", "info", "warn" or "error"; anything else means info.
    static LogLevel parse_level(std::string_view name);

    template <typename... Parts>
    void debug(const Parts&... parts) {
        write(LogLevel::debug, parts...);
    }
    template <typename... Parts>
    void info(const Parts&... parts) {
        write(LogLevel::info, parts...);
    }
    template <typename... Parts>
    void warn(const Parts&... parts) {
        write(LogLevel::warn, parts...);
    }
    template <typename... Parts>
    void error(const Parts&... parts) {
        write(LogLevel::error, parts...);
    }

  private:
    template <typename... Parts>
    void write(LogLevel level, const Parts&... parts) {
        if (level < threshold_) return;
        std::ostringstream line;
        (line << ... << parts);
        emit(level, line.str());
    }
    void emit(LogLevel level, const std::string& text);

    LogLevel threshold_;
    std::mutex mutex_;
};

}  // namespace countylink::server
