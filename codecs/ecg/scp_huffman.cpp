// SCP-ECG section 2 Huffman tables and the bit-stream decoder for sections 5 and 6.
#include "codecs/ecg/scp_sections.hpp"

namespace countylink::codecs::ecg::scp {
namespace {

constexpr std::uint16_t kDefaultTableMarker = 19999;
constexpr std::size_t kCodeBytes = 9;
constexpr std::size_t kMaxCodes = 65535;

// Builds each table's decoding tree, refusing codes that cannot be decoded unambiguously.
// `where` prefixes the reasons.
Status build_trees(HuffmanTables& t, const std::string& where) {
    t.trees.clear();
    for (std::size_t ti = 0; ti < t.tables.size(); ++ti) {
        const auto& table = t.tables[ti];
        std::vector<HuffmanNode> tree(1);
        const std::string name = where + ": Huffman table " + std::to_string(ti + 1);
        for (std::size_t ci = 0; ci < table.size(); ++ci) {
            const HuffmanCode& code = table[ci];
            const std::string entry = name + " code " + std::to_string(ci + 1);
            if (code.prefix_bits < 1 || code.prefix_bits > 32 ||
                code.total_bits < code.prefix_bits || code.total_bits - code.prefix_bits > 32)
                return malformed(entry + ": impossible bit counts (prefix " +
                                 std::to_string(code.prefix_bits) + ", total " +
                                 std::to_string(code.total_bits) + ")");
            if (code.switches_table &&
                (code.value < 1 || static_cast<std::size_t>(code.value) > t.tables.size()))
                return malformed(entry + ": switches to table " + std::to_string(code.value) +
                                 " of " + std::to_string(t.tables.size()));
            std::int32_t node = 0;
            for (unsigned bit = 0; bit < code.prefix_bits; ++bit) {
                if (tree[node].code >= 0)
                    return malformed(entry + ": starts with the whole of code " +
                                     std::to_string(tree[node].code + 1));
                const unsigned b = (code.code >> bit) & 1u;
                if (tree[node].next[b] < 0) {
                    tree[node].next[b] = static_cast<std::int32_t>(tree.size());
                    tree.emplace_back();
                }
                node = tree[node].next[b];
            }
            if (tree[node].code >= 0 || tree[node].next[0] >= 0 || tree[node].next[1] >= 0)
                return malformed(entry + ": same bits as, or a prefix of, another code");
            tree[node].code = static_cast<std::int32_t>(ci);
        }
        t.trees.push_back(std::move(tree));
    }
    return std::nullopt;
}

// MSB-first bit reader over one lead's bytes.
class Bits {
  public:
    explicit Bits(std::span<const std::byte> data) : data_(data) {}
    std::size_t left() const { return data_.size() * 8 - pos_; }
    std::size_t position() const { return pos_; }
    unsigned bit() {
        auto byte = std::to_integer<unsigned>(data_[pos_ / 8]);
        unsigned b = (byte >> (7 - pos_ % 8)) & 1u;
        ++pos_;
        return b;
    }
    // `n` (1..32) bits as a two's complement number.
    std::int64_t signed_bits(unsigned n) {
        std::uint64_t raw = 0;
        for (unsigned i = 0; i < n; ++i) raw = raw << 1 | bit();
        const std::uint64_t sign = std::uint64_t{1} << (n - 1);
        return static_cast<std::int64_t>(raw ^ sign) - static_cast<std::int64_t>(sign);
    }

  private:
    std::span<const std::byte> data_;
    std::size_t pos_ = 0;
};

}  // namespace

HuffmanTables default_huffman_tables() {
    // Value 0 is "0"; +-n (n = 1..8) is n ones, a zero, then the sign bit (0 +, 1 -); ten ones
    // but for the last bit introduce an 8-bit or 16-bit original value.
    HuffmanTables t;
    std::vector<HuffmanCode> table;
    table.push_back({1, 1, false, 0, 0});
    for (int n = 1; n <= 8; ++n) {
        for (int sign : {+1, -1}) {
            // Bits in transmission order: n ones, 0, sign. Stored with the first bit in bit 0.
            std::uint32_t code = (1u << n) - 1;  // n ones in bits 0..n-1; bit n is the 0
            if (sign < 0) code |= 1u << (n + 1);
            auto bits = static_cast<std::uint8_t>(n + 2);
            table.push_back({bits, bits, false, static_cast<std::int16_t>(sign * n), code});
        }
    }
    table.push_back({10, 18, false, 0, 0x1FF});  // 1111111110 + 8 bits
    table.push_back({10, 26, false, 0, 0x3FF});  // 1111111111 + 16 bits
    t.tables.push_back(std::move(table));
    build_trees(t, "default table");  // cannot fail: the table above is prefix-free
    return t;
}

Status read_huffman_section(const Section& section, HuffmanTables& out) {
    Cursor c(section);
    if (auto bad = c.need(2, "number of Huffman tables")) return bad;
    const std::uint16_t count = c.u16();
    if (count == kDefaultTableMarker) {
        out = default_huffman_tables();
        return std::nullopt;
    }
    if (count == 0) return malformed(section.where() + ": declares no Huffman tables");
    out.tables.clear();
    std::size_t total = 0;
    for (std::uint16_t ti = 0; ti < count; ++ti) {
        const std::string what =
            "Huffman table " + std::to_string(ti + 1) + " of " + std::to_string(count);
        if (auto bad = c.need(2, what)) return bad;
        const std::uint16_t codes = c.u16();
        if (codes == 0) return malformed(section.where() + ": " + what + " has no codes");
        // Real tables have a few dozen codes; a cap keeps the decoding trees small.
        if ((total += codes) > kMaxCodes)
            return Refusal{ErrorKind::too_large, section.where() + ": more than " +
                                                     std::to_string(kMaxCodes) +
                                                     " Huffman codes in all"};
        if (auto bad = c.need(std::size_t{codes} * kCodeBytes,
                              what + " (" + std::to_string(codes) + " codes)"))
            return bad;
        std::vector<HuffmanCode> table(codes);
        for (auto& code : table) {
            code.prefix_bits = c.u8();
            code.total_bits = c.u8();
            code.switches_table = c.u8() == 0;
            code.value = c.i16();
            code.code = c.u32();
        }
        out.tables.push_back(std::move(table));
    }
    return build_trees(out, section.where());
}

Status huffman_decode(const HuffmanTables& tables, std::span<const std::byte> data,
                      std::size_t count, std::vector<std::int64_t>& out, const std::string& what) {
    out.clear();
    out.reserve(count);
    Bits bits(data);
    std::size_t table = 0;  // every lead starts in table 1
    while (out.size() < count) {
        const auto& tree = tables.trees[table];
        std::int32_t node = 0;
        const std::size_t code_start = bits.position();
        while (tree[node].code < 0) {
            if (bits.left() == 0)
                return malformed(what + ": Huffman data (" + std::to_string(data.size()) +
                                 " bytes) ends after " + std::to_string(out.size()) + " of " +
                                 std::to_string(count) + " samples");
            node = tree[node].next[bits.bit()];
            if (node < 0)
                return malformed(what + ": bits at bit " + std::to_string(code_start) +
                                 " match no code of Huffman table " + std::to_string(table + 1));
        }
        const HuffmanCode& code = tables.tables[table][tree[node].code];
        if (code.switches_table) {
            table = static_cast<std::size_t>(code.value) - 1;
            continue;
        }
        const unsigned extra = code.total_bits - code.prefix_bits;
        if (extra == 0) {
            out.push_back(code.value);
            continue;
        }
        if (bits.left() < extra)
            return malformed(what + ": Huffman data (" + std::to_string(data.size()) +
                             " bytes) ends inside sample " + std::to_string(out.size() + 1) +
                             " of " + std::to_string(count) + " samples");
        out.push_back(bits.signed_bits(extra));
    }
    return std::nullopt;
}

}  // namespace countylink::codecs::ecg::scp
