// Undoes a request's Content-Encoding (identity, gzip or zstd) as the body streams in.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string_view>

namespace countylink::http {

class ContentDecoder {
  public:
    using Sink = std::function<void(std::span<const std::byte>)>;

    // Throws std::invalid_argument for an encoding other than "", identity, gzip or zstd.
    explicit ContentDecoder(std::string_view encoding);
    ~ContentDecoder();
    ContentDecoder(const ContentDecoder&) = delete;
    ContentDecoder& operator=(const ContentDecoder&) = delete;

    // Decodes `data` and hands the plain bytes to `sink` (in bounded chunks).
    // Throws std::runtime_error on corrupt input.
    void feed(std::span<const std::byte> data, const Sink& sink);
    // Throws if the compressed stream was cut short.
    void finish();

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace countylink::http
