#include "gateway/http/content_decoder.hpp"

#include <zlib.h>
#include <zstd.h>

#include <string>
#include <vector>

namespace countylink::http {

namespace {
enum class Kind { identity, gzip, zstd };
constexpr std::size_t kOut = 256 * 1024;
}  // namespace

struct ContentDecoder::State {
    Kind kind = Kind::identity;
    z_stream z{};
    bool z_open = false;
    bool z_done = false;
    ZSTD_DCtx* zstd = nullptr;
    std::size_t zstd_hint = 0;  // 0 after a frame ended
    std::vector<std::byte> out = std::vector<std::byte>(kOut);

    ~State() {
        if (z_open) inflateEnd(&z);
        ZSTD_freeDCtx(zstd);
    }
};

ContentDecoder::ContentDecoder(std::string_view encoding) : state_(std::make_unique<State>()) {
    if (encoding.empty() || encoding == "identity") return;
    if (encoding == "gzip" || encoding == "x-gzip") {
        state_->kind = Kind::gzip;
        if (inflateInit2(&state_->z, 16 + MAX_WBITS) != Z_OK) {
            throw std::runtime_error("zlib: cannot start inflate");
        }
        state_->z_open = true;
        return;
    }
    if (encoding == "zstd") {
        state_->kind = Kind::zstd;
        state_->zstd = ZSTD_createDCtx();
        if (!state_->zstd) throw std::runtime_error("zstd: cannot create context");
        return;
    }
    throw std::invalid_argument("Content-Encoding '" + std::string(encoding) +
                                "' is not supported (use gzip, zstd or none)");
}

ContentDecoder::~ContentDecoder() = default;

void ContentDecoder::feed(std::span<const std::byte> data, const Sink& sink) {
    State& s = *state_;
    switch (s.kind) {
        case Kind::identity:
            sink(data);
            return;
        case Kind::gzip: {
            s.z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data.data()));
            s.z.avail_in = static_cast<uInt>(data.size());
            while (s.z.avail_in > 0 && !s.z_done) {
                s.z.next_out = reinterpret_cast<Bytef*>(s.out.data());
                s.z.avail_out = static_cast<uInt>(s.out.size());
                const int rc = inflate(&s.z, Z_NO_FLUSH);
                if (rc != Z_OK && rc != Z_STREAM_END) {
                    throw std::runtime_error("gzip body is corrupt");
                }
                const std::size_t n = s.out.size() - s.z.avail_out;
                if (n) sink({s.out.data(), n});
                if (rc == Z_STREAM_END) s.z_done = true;
            }
            return;
        }
        case Kind::zstd: {
            ZSTD_inBuffer in{data.data(), data.size(), 0};
            while (in.pos < in.size) {
                ZSTD_outBuffer out{s.out.data(), s.out.size(), 0};
                const std::size_t rc = ZSTD_decompressStream(s.zstd, &out, &in);
                if (ZSTD_isError(rc)) throw std::runtime_error("zstd body is corrupt");
                s.zstd_hint = rc;
                if (out.pos) sink({s.out.data(), out.pos});
            }
            return;
        }
    }
}

void ContentDecoder::finish() {
    const State& s = *state_;
    if (s.kind == Kind::gzip && !s.z_done) throw std::runtime_error("gzip body is truncated");
    if (s.kind == Kind::zstd && s.zstd_hint != 0)
        throw std::runtime_error("zstd body is truncated");
}

}  // namespace countylink::http
