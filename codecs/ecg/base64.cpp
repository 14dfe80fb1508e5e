#include "codecs/ecg/base64.hpp"

#include <array>
#include <cstdint>

namespace countylink::codecs::ecg {
namespace {

constexpr std::int8_t kSkip = -2, kBad = -1;

constexpr std::array<std::int8_t, 256> make_table() {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t) v = kBad;
    constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < alphabet.size(); ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    for (char c : {' ', '\t', '\r', '\n', '\f', '\v'}) t[static_cast<unsigned char>(c)] = kSkip;
    return t;
}

constexpr auto kTable = make_table();

}  // namespace

std::optional<std::vector<std::byte>> decode_base64(std::string_view text, std::size_t* bad_at) {
    std::vector<std::byte> out;
    out.reserve(text.size() / 4 * 3);
    std::uint32_t group = 0;
    int have = 0;     // sextets in `group`
    int padding = 0;  // '=' seen; only white space and more '=' may follow
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        std::int8_t v = kTable[c];
        if (v == kSkip) continue;
        if (c == '=') {
            // "xx==" or "xxx=": padding completes a group of two or three sextets.
            if (have + padding < 2 || have + padding >= 4) {
                if (bad_at) *bad_at = i;
                return std::nullopt;
            }
            ++padding;
            continue;
        }
        if (v == kBad || padding > 0) {
            if (bad_at) *bad_at = i;
            return std::nullopt;
        }
        group = (group << 6) | static_cast<std::uint32_t>(v);
        if (++have == 4) {
            out.push_back(static_cast<std::byte>(group >> 16));
            out.push_back(static_cast<std::byte>(group >> 8));
            out.push_back(static_cast<std::byte>(group));
            group = 0;
            have = 0;
        }
    }
    if (padding > 0 && have + padding != 4) {
        if (bad_at) *bad_at = text.size();
        return std::nullopt;
    }
    // Unpadded tails are accepted as RFC 4648 section 3.2 allows; a lone sextet is not a byte.
    if (have == 1) {
        if (bad_at) *bad_at = text.size();
        return std::nullopt;
    }
    if (have >= 2) out.push_back(static_cast<std::byte>(group >> (have == 2 ? 4 : 10)));
    if (have == 3) out.push_back(static_cast<std::byte>(group >> 2));
    return out;
}

}  // namespace countylink::codecs::ecg
