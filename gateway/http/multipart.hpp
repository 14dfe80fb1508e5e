// A streaming multipart/related (RFC 2046) parser: bytes go in in any chunking, parts come out
// as header callbacks and data callbacks, and memory stays bounded by one input chunk plus the
// delimiter, whatever the size of a part. Used by STOW-RS.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace countylink::http {

class MultipartError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// What the parser calls, in order: begin (headers, names lower-cased), data (0..n), end.
class PartHandler {
  public:
    virtual ~PartHandler() = default;
    virtual void on_part_begin(const std::map<std::string, std::string>& headers) = 0;
    virtual void on_part_data(std::span<const std::byte> data) = 0;
    virtual void on_part_end() = 0;
};

class MultipartParser {
  public:
    MultipartParser(std::string_view boundary, PartHandler& handler);

    // Consumes more of the body; throws MultipartError on malformed input.
    void feed(std::span<const std::byte> data);
    // The body ended: throws MultipartError unless the closing delimiter was seen.
    void finish();
    bool complete() const { return state_ == State::epilogue; }

  private:
    enum class State { preamble, after_delimiter, headers, body, epilogue };
    void run();

    std::string delimiter_;  // "\r\n--" + boundary
    PartHandler& handler_;
    State state_ = State::preamble;
    std::string buffer_;  // unconsumed input
};

// The value of a parameter of a header value such as
// `multipart/related; type="application/dicom"; boundary=abc` (quotes removed).
std::optional<std::string> header_parameter(std::string_view value, std::string_view name);

}  // namespace countylink::http
