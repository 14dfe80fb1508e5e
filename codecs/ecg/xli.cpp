#include "codecs/ecg/xli.hpp"

#include <array>

namespace countylink::codecs::ecg {
namespace {

constexpr int kCodeBits = 10;
constexpr int kLastCode = (1 << kCodeBits) - 2;  // 1023 ends the stream; the table stops at 1022

std::uint32_t le32(std::span<const std::byte> b, std::size_t at) {
    return static_cast<std::uint32_t>(b[at]) | static_cast<std::uint32_t>(b[at + 1]) << 8 |
           static_cast<std::uint32_t>(b[at + 2]) << 16 |
           static_cast<std::uint32_t>(b[at + 3]) << 24;
}

std::int16_t le16(std::span<const std::byte> b, std::size_t at) {
    return static_cast<std::int16_t>(static_cast<std::uint16_t>(b[at]) |
                                     static_cast<std::uint16_t>(b[at + 1]) << 8);
}

// The LZW dictionary as prefix links: entry = string(prefix) + last byte. Codes below 256 are
// the single bytes themselves.
class LzwTable {
  public:
    LzwTable() {
        for (int c = 0; c < 256; ++c) {
            prefix_[c] = -1;
            last_[c] = first_[c] = static_cast<std::uint8_t>(c);
            length_[c] = 1;
        }
    }
    int next() const { return next_; }
    std::uint8_t first(int code) const { return first_[code]; }
    void add(int prefix, std::uint8_t byte) {
        if (next_ > kLastCode) return;  // the table is full: codes keep their meaning
        prefix_[next_] = static_cast<std::int16_t>(prefix);
        last_[next_] = byte;
        first_[next_] = first_[prefix];
        length_[next_] = static_cast<std::uint16_t>(length_[prefix] + 1);
        ++next_;
    }
    // Appends the string for `code` (which must be < next()) to `out`.
    void append(int code, std::vector<std::uint8_t>& out) const {
        std::size_t at = out.size();
        out.resize(at + length_[code]);
        for (std::size_t i = at + length_[code]; code >= 0; code = prefix_[code])
            out[--i] = last_[code];
    }

  private:
    std::array<std::int16_t, kLastCode + 1> prefix_{};
    std::array<std::uint8_t, kLastCode + 1> last_{}, first_{};
    std::array<std::uint16_t, kLastCode + 1> length_{};
    int next_ = 256;
};

// Expands one chunk's LZW codes (MSB-first 10-bit) into bytes; "" or the reason it failed.
std::string expand(std::span<const std::byte> codes, std::size_t max_bytes,
                   std::vector<std::uint8_t>& out) {
    LzwTable table;
    std::uint32_t bits = 0;
    int have = 0;
    std::size_t at = 0;
    int previous = -1;
    for (;;) {
        while (have < kCodeBits && at < codes.size()) {
            bits = (bits << 8) | static_cast<std::uint8_t>(codes[at++]);
            have += 8;
        }
        if (have < kCodeBits) break;  // padding bits at the end
        int code = static_cast<int>((bits >> (have - kCodeBits)) & ((1u << kCodeBits) - 1));
        have -= kCodeBits;
        if (code > kLastCode) break;  // end-of-stream code
        if (code < table.next()) {
            table.append(code, out);
            if (previous >= 0) table.add(previous, table.first(code));
        } else if (code == table.next() && previous >= 0) {
            // The code being defined right now: previous string plus its own first byte.
            table.append(previous, out);
            out.push_back(table.first(previous));
            table.add(previous, table.first(previous));
        } else {
            return "LZW code " + std::to_string(code) + " names no dictionary entry (next is " +
                   std::to_string(table.next()) + ")";
        }
        if (out.size() > max_bytes)
            return "expands beyond " + std::to_string(max_bytes / 2) + " samples";
        previous = code;
    }
    return {};
}

// High bytes first, then low bytes; then undo the second-difference prediction.
std::vector<std::int16_t> to_samples(std::vector<std::uint8_t>& bytes, std::int16_t seed) {
    if (bytes.size() % 2) bytes.push_back(0);
    std::size_t n = bytes.size() / 2;
    std::vector<std::int16_t> s(n);
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<std::int16_t>(bytes[i] << 8 | bytes[n + i]);
    if (n < 2) return s;
    std::int16_t x = s[0], y = s[1], last = seed;
    for (std::size_t i = 2; i < n; ++i) {
        auto z = static_cast<std::int16_t>(2 * y - x - last);
        last = static_cast<std::int16_t>(s[i] - 64);
        s[i] = z;
        x = y;
        y = z;
    }
    return s;
}

}  // namespace

XliLeads decode_xli(std::span<const std::byte> data, std::size_t leads,
                    std::size_t max_samples_per_lead) {
    XliLeads result;
    std::size_t offset = 0;
    while (offset < data.size() && result.leads.size() < leads) {
        std::size_t lead = result.leads.size();
        auto refuse = [&](const std::string& why) {
            result.leads.clear();
            result.error = "XLI chunk " + std::to_string(lead + 1) + " at byte " +
                           std::to_string(offset) + ": " + why;
            return result;
        };
        if (data.size() - offset < 8)
            return refuse("header needs 8 bytes, " + std::to_string(data.size() - offset) +
                          " remain");
        std::uint32_t size = le32(data, offset);
        std::int16_t seed = le16(data, offset + 6);
        if (size > data.size() - offset - 8)
            return refuse("declares " + std::to_string(size) + " compressed bytes, only " +
                          std::to_string(data.size() - offset - 8) + " remain");
        std::vector<std::uint8_t> bytes;
        std::string why = expand(data.subspan(offset + 8, size), 2 * max_samples_per_lead, bytes);
        if (!why.empty()) return refuse(why);
        result.leads.push_back(to_samples(bytes, seed));
        offset += 8 + std::size_t{size};
    }
    return result;
}

}  // namespace countylink::codecs::ecg
