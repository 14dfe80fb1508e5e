// The STOW-RS multipart parser. Input layout: a Content-Type line ("multipart/related;
// boundary=..."), '\n', one byte choosing the chunk size the body is fed in, then the body.
// Invariants: callbacks come in order (begin, data..., end) and no more data comes out than
// went in.
#include <algorithm>
#include <string>

#include "gateway/http/multipart.hpp"
#include "tests/fuzz/targets.hpp"

namespace countylink::fuzz {
namespace {

class CheckingHandler : public http::PartHandler {
  public:
    void on_part_begin(const std::map<std::string, std::string>&) override {
        if (in_part_) fail("multipart: a part began inside a part");
        in_part_ = true;
    }
    void on_part_data(std::span<const std::byte> data) override {
        if (!in_part_) fail("multipart: data outside a part");
        bytes_ += data.size();
    }
    void on_part_end() override {
        if (!in_part_) fail("multipart: a part ended that never began");
        in_part_ = false;
    }
    std::size_t bytes() const { return bytes_; }

  private:
    bool in_part_ = false;
    std::size_t bytes_ = 0;
};

}  // namespace

int multipart(std::span<const std::byte> input) {
    const auto* chars = reinterpret_cast<const char*>(input.data());
    const auto newline = std::find(chars, chars + input.size(), '\n');
    if (newline == chars + input.size() || newline + 1 == chars + input.size()) return 0;
    const std::string content_type(chars, newline);
    const auto boundary = http::header_parameter(content_type, "boundary");
    const std::size_t chunk = static_cast<unsigned char>(newline[1]) + 1;
    const auto body = input.subspan(static_cast<std::size_t>(newline - chars) + 2);

    CheckingHandler handler;
    try {
        http::MultipartParser parser(boundary.value_or(content_type), handler);
        for (std::size_t at = 0; at < body.size(); at += chunk) {
            parser.feed(body.subspan(at, std::min(chunk, body.size() - at)));
        }
        parser.finish();
    } catch (const http::MultipartError&) {
        return 0;  // expected: STOW-RS answers 400
    }
    if (handler.bytes() > body.size()) fail("multipart: more part data than body bytes");
    return 0;
}

}  // namespace countylink::fuzz
