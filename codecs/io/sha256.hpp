// SHA-256 of a byte stream, fed piece by piece, as the lowercase hex that names blobs.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

struct evp_md_ctx_st;

namespace countylink::io {

class Sha256 {
  public:
    // Throws std::runtime_error if OpenSSL cannot start a digest.
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    // Adds the next bytes of the stream.
    void feed(std::span<const std::byte> bytes);
    // The digest of everything fed, 64 lowercase hex digits; call once, at the end.
    std::string hex_digest();

  private:
    std::unique_ptr<evp_md_ctx_st, void (*)(evp_md_ctx_st*)> ctx_;
};

}  // namespace countylink::io
