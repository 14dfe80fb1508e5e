// A small SCP-ECG encoder for tests: builds files with the variants the public corpus lacks
// (custom Huffman tables with table switches, first/second differences, bimodal decimation,
// reference beat subtraction, 1.3 and 3.0 headers). Written from the standard's description,
// independently of the reader in codecs/ecg, so a round trip checks one against the other.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countylink::testing::scp {

// One code of a Huffman table; `bits` is the prefix in transmission order ("110").
struct Code {
    std::string bits;
    int extra_bits = 0;  // a signed value of this many bits follows the prefix
    int value = 0;       // the value when extra_bits == 0
    int switch_to = 0;   // 1-based table to switch to; 0 = not a switch
};
using Table = std::vector<Code>;

enum class Huffman { none, default_table, custom };

struct Beat {
    std::uint16_t type = 0;
    std::uint32_t start = 0, fiducial = 0, end = 0;  // 1-based samples
};

struct Zone {
    std::uint32_t start = 0, end = 0;
};

struct Lead {
    std::uint8_t id = 0;                  // SCP lead code (1 = I, 2 = II, 61 = III ...)
    std::vector<std::int32_t> samples;    // full-rate signal in AVM units
    std::vector<std::int32_t> reference;  // reference beat 0 in AVM units (subtraction only)
};

struct Recording {
    std::uint8_t protocol = 20;  // 13 = 1.3, 20 = 2.0, 30 = 3.0
    bool scpecg_marker = true;   // "SCPECG" in section 0's reserved bytes
    Huffman huffman = Huffman::default_table;
    std::vector<Table> custom_tables;  // for Huffman::custom
    std::uint8_t difference = 2;
    std::uint16_t avm_nv = 5000;
    std::uint16_t interval_us = 2000;  // full-rate interval
    std::vector<Lead> leads;

    // Reference beat subtraction (sections 4/5) and bimodal compression.
    bool subtract = false;
    std::uint16_t reference_avm_nv = 5000;
    std::uint16_t reference_fiducial = 0;  // 1-based sample in the reference beat
    std::vector<Beat> beats;
    std::vector<Zone> protected_zones;
    bool write_protected_zones = true;
    std::size_t bimodal_factor = 1;  // > 1: decimate outside protected zones

    // Section 1 and 7 content.
    std::string last_name = "Doe", first_name = "Jane", patient_id = "PID-42";
    std::uint16_t birth_year = 1961;
    std::uint8_t birth_month = 7, birth_day = 14, sex = 2;
    std::uint16_t year = 2024;
    std::uint8_t month = 3, day = 5, hour = 14, minute = 7, second = 9;
    std::string model = "TST-1", manufacturer = "Test Cart Co";
    bool measurements = true;

    // Corruption hooks: bytes dropped from the end of lead 0's rhythm stream.
    std::size_t drop_lead0_bytes = 0;
};

inline std::uint16_t get16(const std::vector<std::byte>& f, std::size_t at) {
    return static_cast<std::uint16_t>(std::to_integer<unsigned>(f.at(at)) |
                                      std::to_integer<unsigned>(f.at(at + 1)) << 8);
}
inline std::uint32_t get32(const std::vector<std::byte>& f, std::size_t at) {
    return std::uint32_t{get16(f, at)} | std::uint32_t{get16(f, at + 2)} << 16;
}
inline void put16(std::vector<std::byte>& f, std::size_t at, std::uint16_t v) {
    f.at(at) = std::byte(v & 0xFF);
    f.at(at + 1) = std::byte(v >> 8);
}
inline void put32(std::vector<std::byte>& f, std::size_t at, std::uint32_t v) {
    put16(f, at, static_cast<std::uint16_t>(v & 0xFFFF));
    put16(f, at + 2, static_cast<std::uint16_t>(v >> 16));
}

// CRC-CCITT (0x1021, start 0xFFFF), as EN 1064 specifies it.
inline std::uint16_t crc(const std::vector<std::byte>& f, std::size_t from, std::size_t to) {
    std::uint16_t c = 0xFFFF;
    for (std::size_t i = from; i < to; ++i) {
        c ^= static_cast<std::uint16_t>(std::to_integer<unsigned>(f[i]) << 8);
        for (int b = 0; b < 8; ++b)
            c = static_cast<std::uint16_t>((c & 0x8000) ? (c << 1) ^ 0x1021 : c << 1);
    }
    return c;
}

inline std::optional<std::size_t> section_offset(const std::vector<std::byte>& file,
                                                 std::uint16_t id) {
    const std::size_t length = get32(file, 10);
    for (std::size_t at = 22; at + 10 <= 6 + length; at += 10)
        if (get16(file, at) == id && get32(file, at + 2) > 0) return get32(file, at + 6) - 1;
    return std::nullopt;
}

inline void reseal(std::vector<std::byte>& file) {
    const std::size_t length0 = get32(file, 10);
    for (std::size_t at = 22; at + 10 <= 6 + length0 && at + 10 <= file.size(); at += 10) {
        const std::size_t len = get32(file, at + 2), index = get32(file, at + 6);
        if (get16(file, at) == 0 || len < 16 || index == 0 || index - 1 + len > file.size())
            continue;
        put16(file, index - 1, crc(file, index + 1, index - 1 + len));
    }
    put16(file, 6, crc(file, 8, 6 + length0));
    put16(file, 0, crc(file, 2, file.size()));
}

inline Table default_table() {
    Table t;
    t.push_back({"0", 0, 0, 0});
    for (int n = 1; n <= 8; ++n) {
        t.push_back({std::string(n, '1') + "00", 0, n, 0});
        t.push_back({std::string(n, '1') + "01", 0, -n, 0});
    }
    t.push_back({"1111111110", 8, 0, 0});
    t.push_back({"1111111111", 16, 0, 0});
    return t;
}

inline std::vector<Table> custom_tables() {
    Table one = {{"0", 0, 0, 0},   {"100", 0, 1, 0},  {"101", 0, -1, 0},
                 {"110", 0, 0, 2}, {"1110", 8, 0, 0}, {"1111", 16, 0, 0}};
    Table two = {{"0", 4, 0, 0}, {"10", 16, 0, 0}, {"11", 0, 0, 1}};
    return {one, two};
}

namespace detail {

class BitWriter {
  public:
    void bit(bool b) {
        if (count_ % 8 == 0) bytes_.push_back(std::byte{0});
        if (b) bytes_.back() |= std::byte(0x80 >> (count_ % 8));
        ++count_;
    }
    void bits(const std::string& s) {
        for (char c : s) bit(c == '1');
    }
    void value(std::int64_t v, int n) {
        for (int i = n - 1; i >= 0; --i) bit((static_cast<std::uint64_t>(v) >> i) & 1u);
    }
    std::vector<std::byte> take() { return std::move(bytes_); }

  private:
    std::vector<std::byte> bytes_;
    std::size_t count_ = 0;
};

inline bool fits(std::int64_t v, int bits) {
    return bits > 0 && v >= -(std::int64_t{1} << (bits - 1)) && v < (std::int64_t{1} << (bits - 1));
}

// Cheapest code for v in one table (bits), or -1.
inline int cost(const Table& t, std::int64_t v, std::size_t* which) {
    int best = -1;
    for (std::size_t i = 0; i < t.size(); ++i) {
        const Code& c = t[i];
        if (c.switch_to) continue;
        const bool ok = c.extra_bits ? fits(v, c.extra_bits) : c.value == v;
        const int bits = static_cast<int>(c.bits.size()) + c.extra_bits;
        if (ok && (best < 0 || bits < best)) {
            best = bits;
            if (which) *which = i;
        }
    }
    return best;
}

// Greedy: stay in the current table, or switch when that (plus the code there) is cheaper.
inline std::vector<std::byte> huffman(const std::vector<Table>& tables,
                                      const std::vector<std::int64_t>& values) {
    BitWriter w;
    std::size_t current = 0;
    for (std::int64_t v : values) {
        std::size_t code = 0;
        int best = cost(tables[current], v, &code);
        std::optional<std::size_t> via;
        for (std::size_t i = 0; i < tables[current].size(); ++i) {
            const Code& c = tables[current][i];
            if (!c.switch_to) continue;
            int there = cost(tables[c.switch_to - 1], v, nullptr);
            if (there >= 0 && (best < 0 || static_cast<int>(c.bits.size()) + there < best)) {
                best = static_cast<int>(c.bits.size()) + there;
                via = i;
            }
        }
        if (best < 0) throw std::runtime_error("test encoder: value not encodable");
        if (via) {
            w.bits(tables[current][*via].bits);
            current = tables[current][*via].switch_to - 1;
            cost(tables[current], v, &code);
        }
        const Code& c = tables[current][code];
        w.bits(c.bits);
        if (c.extra_bits) w.value(v, c.extra_bits);
    }
    return w.take();
}

inline std::vector<std::int64_t> differences(std::vector<std::int64_t> x, int order) {
    std::vector<std::int64_t> d = x;
    if (order == 0) return d;
    for (std::size_t i = static_cast<std::size_t>(order); i < x.size(); ++i)
        d[i] = order == 1 ? x[i] - x[i - 1] : x[i] - 2 * x[i - 1] + x[i - 2];
    return d;
}

inline std::vector<std::byte> lead_bytes(const Recording& r, const std::vector<std::int64_t>& v) {
    auto d = differences(v, r.difference);
    if (r.huffman == Huffman::none) {
        std::vector<std::byte> out;
        for (auto x : d) {
            if (!fits(x, 16)) throw std::runtime_error("test encoder: raw value beyond 16 bits");
            out.push_back(std::byte(static_cast<std::uint16_t>(x) & 0xFF));
            out.push_back(std::byte(static_cast<std::uint16_t>(x) >> 8));
        }
        return out;
    }
    return huffman(
        r.huffman == Huffman::custom ? r.custom_tables : std::vector<Table>{default_table()}, d);
}

// Residual after subtraction, then decimated outside protected zones (rounded group means).
inline std::vector<std::int64_t> stored_rhythm(const Recording& r, const Lead& lead) {
    std::vector<std::int64_t> x(lead.samples.begin(), lead.samples.end());
    if (r.subtract)
        for (const auto& b : r.beats) {
            if (b.type != 0) continue;
            for (std::uint32_t s = b.start; s <= b.end; ++s)
                x[s - 1] -= lead.reference[r.reference_fiducial - 1 + s - b.fiducial];
        }
    if (r.bimodal_factor <= 1) return x;
    const std::size_t f = r.bimodal_factor;
    std::vector<std::int64_t> out;
    std::size_t pos = 1;
    auto gap = [&](std::size_t from, std::size_t to) {  // 1-based, inclusive end is to - 1
        std::size_t len = to - from, groups = len / f;
        for (std::size_t g = 0; g < groups; ++g) {
            double sum = 0;
            for (std::size_t j = 0; j < f; ++j) sum += static_cast<double>(x[from - 1 + g * f + j]);
            out.push_back(std::llround(sum / static_cast<double>(f)));
        }
        for (std::size_t s = from + groups * f; s < to; ++s) out.push_back(x[s - 1]);
    };
    for (const auto& z : r.protected_zones) {
        gap(pos, z.start);
        for (std::size_t s = z.start; s <= z.end; ++s) out.push_back(x[s - 1]);
        pos = z.end + 1;
    }
    gap(pos, x.size() + 1);
    return out;
}

struct Builder {
    std::vector<std::byte> b;
    void u8(unsigned v) { b.push_back(std::byte(v & 0xFF)); }
    void u16(unsigned v) {
        u8(v);
        u8(v >> 8);
    }
    void u32(std::uint32_t v) {
        u16(v & 0xFFFF);
        u16(v >> 16);
    }
    void text(const std::string& s) {
        for (char c : s) u8(static_cast<unsigned char>(c));
        u8(0);
    }
    void tag(unsigned t, const std::vector<std::byte>& value) {
        u8(t);
        u16(static_cast<unsigned>(value.size()));
        b.insert(b.end(), value.begin(), value.end());
    }
    void bytes(const std::vector<std::byte>& v) { b.insert(b.end(), v.begin(), v.end()); }
};

inline std::vector<std::byte> text_value(const std::string& s) {
    Builder v;
    v.text(s);
    return v.b;
}

inline Builder patient(const Recording& r) {
    Builder s;
    s.tag(0, text_value(r.last_name));
    s.tag(1, text_value(r.first_name));
    s.tag(2, text_value(r.patient_id));
    Builder dob;
    dob.u16(r.birth_year);
    dob.u8(r.birth_month);
    dob.u8(r.birth_day);
    s.tag(5, dob.b);
    s.tag(8, {std::byte{r.sex}});
    Builder dev;
    dev.u16(1);   // institution
    dev.u16(2);   // department
    dev.u16(3);   // device id
    dev.u8(0);    // cart
    dev.u8(255);  // manufacturer: see string
    std::string model = r.model;
    model.resize(6, '\0');
    for (char c : model) dev.u8(static_cast<unsigned char>(c));
    dev.u8(r.protocol);
    dev.u8(0xA0);
    dev.u8(0);
    dev.u8(0xD0);
    dev.u8(1);
    for (int i = 0; i < 16; ++i) dev.u8(0);
    dev.u8(4);
    dev.text("1.0");
    dev.text("SN-1");
    dev.text("sys 2");
    dev.text("scp-writer");
    dev.text(r.manufacturer);
    s.tag(14, dev.b);
    Builder date;
    date.u16(r.year);
    date.u8(r.month);
    date.u8(r.day);
    s.tag(25, date.b);
    s.tag(26, {std::byte{r.hour}, std::byte{r.minute}, std::byte{r.second}});
    s.tag(255, {});
    return s;
}

inline Builder tables_section(const Recording& r) {
    Builder s;
    if (r.huffman == Huffman::default_table) {
        s.u16(19999);
        return s;
    }
    s.u16(static_cast<unsigned>(r.custom_tables.size()));
    for (const auto& t : r.custom_tables) {
        s.u16(static_cast<unsigned>(t.size()));
        for (const auto& c : t) {
            s.u8(static_cast<unsigned>(c.bits.size()));
            s.u8(static_cast<unsigned>(c.bits.size() + c.extra_bits));
            s.u8(c.switch_to ? 0 : 1);
            s.u16(static_cast<std::uint16_t>(c.switch_to ? c.switch_to : c.value));
            std::uint32_t code = 0;
            for (std::size_t k = 0; k < c.bits.size(); ++k)
                if (c.bits[k] == '1') code |= 1u << k;
            s.u32(code);
        }
    }
    return s;
}

inline Builder encoded(std::uint16_t avm, std::uint16_t interval, const Recording& r,
                       std::uint8_t bimodal, const std::vector<std::vector<std::byte>>& data) {
    Builder s;
    s.u16(avm);
    s.u16(interval);
    s.u8(r.difference);
    s.u8(bimodal);
    for (const auto& d : data) s.u16(static_cast<unsigned>(d.size()));
    for (const auto& d : data) s.bytes(d);
    return s;
}

}  // namespace detail

inline std::vector<std::byte> encode(const Recording& r) {
    using detail::Builder;
    std::vector<std::pair<std::uint16_t, Builder>> sections;
    sections.emplace_back(1, detail::patient(r));
    if (r.huffman != Huffman::none) sections.emplace_back(2, detail::tables_section(r));

    Builder leads;
    const std::size_t n = r.leads.size();
    leads.u8(static_cast<unsigned>(n));
    leads.u8((r.subtract ? 0x01 : 0) | 0x04 | static_cast<unsigned>((n & 0x1F) << 3));
    for (const auto& l : r.leads) {
        leads.u32(1);
        leads.u32(static_cast<std::uint32_t>(l.samples.size()));
        leads.u8(l.id);
    }
    sections.emplace_back(3, leads);

    const bool qrs = r.subtract || r.bimodal_factor > 1;
    if (qrs) {
        Builder s4;
        const std::size_t ref_samples = r.leads.front().reference.size();
        s4.u16(static_cast<unsigned>(ref_samples * r.interval_us / 1000));
        s4.u16(r.reference_fiducial);
        s4.u16(static_cast<unsigned>(r.beats.size()));
        for (const auto& b : r.beats) {
            s4.u16(b.type);
            s4.u32(b.start);
            s4.u32(b.fiducial);
            s4.u32(b.end);
        }
        if (r.write_protected_zones)
            for (const auto& z : r.protected_zones) {
                s4.u32(z.start);
                s4.u32(z.end);
            }
        sections.emplace_back(4, s4);
        std::vector<std::vector<std::byte>> ref;
        for (const auto& l : r.leads)
            ref.push_back(detail::lead_bytes(
                r, std::vector<std::int64_t>(l.reference.begin(), l.reference.end())));
        sections.emplace_back(5, detail::encoded(r.reference_avm_nv, r.interval_us, r, 0, ref));
    }
    std::vector<std::vector<std::byte>> rhythm;
    for (const auto& l : r.leads)
        rhythm.push_back(detail::lead_bytes(r, detail::stored_rhythm(r, l)));
    if (r.drop_lead0_bytes) rhythm[0].resize(rhythm[0].size() - r.drop_lead0_bytes);
    sections.emplace_back(
        6, detail::encoded(r.avm_nv, static_cast<std::uint16_t>(r.interval_us * r.bimodal_factor),
                           r, r.bimodal_factor > 1 ? 1 : 0, rhythm));
    if (r.measurements) {
        Builder s7;
        s7.u8(1);     // reference beat types
        s7.u8(0);     // pacemaker spikes
        s7.u16(857);  // RR
        s7.u16(857);  // PP
        for (unsigned v : {100u, 210u, 260u, 356u, 650u}) s7.u16(v);
        s7.u16(45);
        s7.u16(static_cast<std::uint16_t>(-30));
        s7.u16(29999);  // T axis not computed
        if (r.protocol >= 20) {
            s7.u16(0);    // QRS count
            s7.u16(70);   // ventricular rate
            s7.u16(70);   // atrial rate
            s7.u16(421);  // QTc
            s7.u8(1);
            s7.u16(0);
        }
        sections.emplace_back(7, s7);
    }

    // Layout: file header (6), section 0, then the others in order.
    const std::size_t pointers = r.protocol >= 30 ? 19 : 12;
    std::vector<std::byte> file(6 + 16 + 10 * pointers);
    struct Place {
        std::uint16_t id;
        std::size_t offset, length;
    };
    std::vector<Place> places;
    for (auto& [id, body] : sections) {
        if (body.b.size() % 2) body.u8(0);  // sections are an even number of bytes
        Place p{id, file.size(), 16 + body.b.size()};
        file.resize(file.size() + 16);
        file.insert(file.end(), body.b.begin(), body.b.end());
        places.push_back(p);
    }
    auto header = [&](std::size_t at, std::uint16_t id, std::size_t length) {
        put16(file, at + 2, id);
        put32(file, at + 4, static_cast<std::uint32_t>(length));
        file[at + 8] = std::byte{r.protocol};
        file[at + 9] = std::byte{r.protocol};
    };
    header(6, 0, 16 + 10 * pointers);
    if (r.scpecg_marker)
        for (std::size_t i = 0; i < 6; ++i) file[16 + i] = std::byte(std::string_view("SCPECG")[i]);
    for (std::size_t id = 0; id < pointers; ++id) {
        const std::size_t at = 22 + 10 * id;
        put16(file, at, static_cast<std::uint16_t>(id));
        if (id == 0) {
            put32(file, at + 2, static_cast<std::uint32_t>(16 + 10 * pointers));
            put32(file, at + 6, 7);
        }
        for (const auto& p : places)
            if (p.id == id) {
                put32(file, at + 2, static_cast<std::uint32_t>(p.length));
                put32(file, at + 6, static_cast<std::uint32_t>(p.offset + 1));
            }
    }
    for (const auto& p : places) header(p.offset, p.id, p.length);
    put32(file, 2, static_cast<std::uint32_t>(file.size()));
    reseal(file);
    return file;
}

}  // namespace countylink::testing::scp
