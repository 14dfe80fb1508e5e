#include "gateway/http/multipart.hpp"

#include <algorithm>
#include <cctype>

namespace countylink::http {
namespace {

constexpr std::size_t kMaxHeaderBytes = 16 * 1024;

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

MultipartParser::MultipartParser(std::string_view boundary, PartHandler& handler)
    : delimiter_("\r\n--" + std::string(boundary)), handler_(handler) {
    if (boundary.empty() || boundary.size() > 70) {
        throw MultipartError("multipart boundary must be 1-70 characters");
    }
    // The first delimiter may open the body without a preceding CRLF.
    buffer_ = "\r\n";
}

void MultipartParser::feed(std::span<const std::byte> data) {
    buffer_.append(reinterpret_cast<const char*>(data.data()), data.size());
    run();
}

void MultipartParser::finish() {
    if (state_ != State::epilogue) {
        throw MultipartError(state_ == State::body ? "body ended inside a part"
                                                   : "body ended before the closing delimiter");
    }
}

void MultipartParser::run() {
    for (;;) {
        switch (state_) {
            case State::preamble: {
                const auto at = buffer_.find(delimiter_);
                if (at == std::string::npos) {
                    // Keep what could be the start of a delimiter.
                    if (buffer_.size() > delimiter_.size()) {
                        buffer_.erase(0, buffer_.size() - delimiter_.size());
                    }
                    return;
                }
                buffer_.erase(0, at + delimiter_.size());
                state_ = State::after_delimiter;
                break;
            }
            case State::after_delimiter: {
                if (buffer_.size() < 2) return;
                if (buffer_.compare(0, 2, "--") == 0) {
                    state_ = State::epilogue;
                    buffer_.clear();
                    return;
                }
                // Transport padding (spaces) may follow a delimiter before its CRLF.
                const auto eol = buffer_.find("\r\n");
                if (eol == std::string::npos) {
                    if (buffer_.size() > 256) throw MultipartError("garbage after a delimiter");
                    return;
                }
                if (!trim(std::string_view(buffer_).substr(0, eol)).empty()) {
                    throw MultipartError("garbage after a multipart delimiter");
                }
                buffer_.erase(0, eol + 2);
                state_ = State::headers;
                break;
            }
            case State::headers: {
                const auto end = buffer_.find("\r\n\r\n");
                const bool empty_headers = buffer_.compare(0, 2, "\r\n") == 0;
                if (end == std::string::npos && !empty_headers) {
                    if (buffer_.size() > kMaxHeaderBytes) {
                        throw MultipartError("part headers larger than 16 KiB");
                    }
                    return;
                }
                std::map<std::string, std::string> headers;
                const std::size_t stop = empty_headers ? 0 : end;
                std::string_view block(buffer_.data(), stop);
                while (!block.empty()) {
                    const auto eol = block.find("\r\n");
                    const auto line = block.substr(0, eol);
                    const auto colon = line.find(':');
                    if (colon == std::string_view::npos) {
                        throw MultipartError("malformed part header line");
                    }
                    headers[lower(trim(line.substr(0, colon)))] =
                        std::string(trim(line.substr(colon + 1)));
                    block =
                        eol == std::string_view::npos ? std::string_view() : block.substr(eol + 2);
                }
                buffer_.erase(0, empty_headers ? 2 : end + 4);
                handler_.on_part_begin(headers);
                state_ = State::body;
                break;
            }
            case State::body: {
                const auto at = buffer_.find(delimiter_);
                if (at == std::string::npos) {
                    // Everything but a possible partial delimiter at the end is part data.
                    if (buffer_.size() > delimiter_.size()) {
                        const std::size_t n = buffer_.size() - delimiter_.size();
                        handler_.on_part_data(std::as_bytes(std::span(buffer_.data(), n)));
                        buffer_.erase(0, n);
                    }
                    return;
                }
                if (at > 0) handler_.on_part_data(std::as_bytes(std::span(buffer_.data(), at)));
                buffer_.erase(0, at + delimiter_.size());
                handler_.on_part_end();
                state_ = State::after_delimiter;
                break;
            }
            case State::epilogue:
                buffer_.clear();
                return;
        }
    }
}

std::optional<std::string> header_parameter(std::string_view value, std::string_view name) {
    std::size_t pos = value.find(';');
    while (pos != std::string_view::npos) {
        std::string_view rest = value.substr(pos + 1);
        const auto next = rest.find(';');
        std::string_view param = trim(rest.substr(0, next));
        const auto eq = param.find('=');
        if (eq != std::string_view::npos && lower(trim(param.substr(0, eq))) == lower(name)) {
            std::string_view v = trim(param.substr(eq + 1));
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
                v = v.substr(1, v.size() - 2);
            }
            return std::string(v);
        }
        pos = next == std::string_view::npos ? next : pos + 1 + next;
    }
    return std::nullopt;
}

}  // namespace countylink::http
