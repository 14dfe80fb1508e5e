// EDF and EDF+ (European Data Format, Kemp 1992 / 2003) into the waveform model: 16-bit samples
// scaled from the digital to the physical range, in records of any duration. Every header
// number is checked against the file's size and our limits before anything is allocated.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "codecs/ecg/read.hpp"

namespace countylink::codecs::ecg {

namespace {

constexpr std::size_t kFixedHeader = 256;
constexpr std::size_t kSignalHeader = 256;

std::string_view field(std::span<const std::byte> b, std::size_t at, std::size_t width) {
    return {reinterpret_cast<const char*>(b.data() + at), width};
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\0')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.remove_suffix(1);
    return std::string(s);
}

// Printable copy for a reason.
std::string shown(std::string_view s) {
    std::string out = "\"";
    for (char c : s.substr(0, 32)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out + "\"";
}

std::optional<long long> integer(std::string_view text) {
    const std::string t = trim(text);
    std::string_view v = t;
    if (!v.empty() && v.front() == '+') v.remove_prefix(1);
    long long n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc{} || end != v.data() + v.size()) return std::nullopt;
    return n;
}

std::optional<double> decimal(std::string_view text) {
    const std::string t = trim(text);
    std::string_view v = t;
    if (!v.empty() && v.front() == '+') v.remove_prefix(1);
    double x = 0;
    const auto [end, ec] =
        std::from_chars(v.data(), v.data() + v.size(), x, std::chars_format::fixed);
    if (v.empty() || ec != std::errc{} || end != v.data() + v.size() || !std::isfinite(x))
        return std::nullopt;
    return x;
}

// Microvolts per unit of an EDF physical dimension; nullopt when it is not a voltage.
std::optional<double> microvolts_per_unit(std::string_view dimension) {
    if (dimension == "uV" || dimension == "\xb5V") return 1.0;  // \xb5: Latin-1 micro sign
    if (dimension == "mV") return 1000.0;
    if (dimension == "V") return 1e6;
    if (dimension == "nV") return 1e-3;
    return std::nullopt;
}

// EDF+ subfields are separated by spaces; "X" means unknown, '_' stands for a space.
std::vector<std::string> subfields(std::string_view text) {
    std::vector<std::string> out;
    std::string t = trim(text);
    std::size_t pos = 0;
    while (pos < t.size()) {
        const std::size_t end = std::min(t.find(' ', pos), t.size());
        if (end > pos) {
            std::string part = t.substr(pos, end - pos);
            std::replace(part.begin(), part.end(), '_', ' ');
            out.push_back(part == "X" ? std::string() : part);
        }
        pos = end + 1;
    }
    return out;
}

// "20-JAN-1998" -> {1998, 1, 20}; nullopt if not that shape.
std::optional<std::array<int, 3>> edf_plus_date(std::string_view d) {
    static constexpr std::array<std::string_view, 12> kMonths = {
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    if (d.size() != 11 || d[2] != '-' || d[6] != '-') return std::nullopt;
    const auto day = integer(d.substr(0, 2));
    const auto year = integer(d.substr(7, 4));
    std::string month(d.substr(3, 3));
    for (auto& c : month) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const auto m = std::find(kMonths.begin(), kMonths.end(), month);
    if (!day || !year || m == kMonths.end() || *day < 1 || *day > 31) return std::nullopt;
    return std::array<int, 3>{static_cast<int>(*year), static_cast<int>(m - kMonths.begin()) + 1,
                              static_cast<int>(*day)};
}

// Two digits, zero-padded (v is 0..99 here).
std::string two(long long v) {
    std::array<char, 8> buf{};
    std::snprintf(buf.data(), buf.size(), "%02lld", v);
    return buf.data();
}

// "dd.mm.yy" + "hh.mm.ss" (yy 85-99: 19yy, else 20yy; EDF+ gives the full year elsewhere).
std::string start_time(std::string_view date, std::string_view time, std::optional<int> year) {
    const auto dd = integer(date.substr(0, 2)), mm = integer(date.substr(3, 2)),
               yy = integer(date.substr(6, 2));
    const auto h = integer(time.substr(0, 2)), mi = integer(time.substr(3, 2)),
               s = integer(time.substr(6, 2));
    if (!dd || !mm || !yy || !h || !mi || !s || date[2] != '.' || date[5] != '.' ||
        time[2] != '.' || time[5] != '.' || *mm < 1 || *mm > 12 || *dd < 1 || *dd > 31 || *h > 23 ||
        *mi > 59 || *s > 60)
        return {};
    const long long y = year ? *year : (*yy >= 85 ? 1900 + *yy : 2000 + *yy);
    return std::to_string(y) + "-" + two(*mm) + "-" + two(*dd) + "T" + two(*h) + ":" + two(*mi) +
           ":" + two(*s);
}

struct Signal {
    std::string label, dimension;
    double physical_min = 0, physical_max = 0;
    long long digital_min = 0, digital_max = 0;
    std::size_t per_record = 0;
    std::size_t offset_in_record = 0;  // bytes
    bool annotations = false;
    std::optional<double> uv_per_unit;
};

ParseResult fail(ErrorKind kind, std::string reason) {
    return ParseResult::fail(kind, std::move(reason));
}

// The patient, recording and start-time fields.
void read_identity(std::span<const std::byte> b, bool edf_plus, Waveform& w) {
    std::optional<int> year;
    const auto recording = subfields(field(b, 88, 80));
    if (recording.size() >= 2 && recording[0] == "Startdate") {
        if (auto d = edf_plus_date(recording[1])) year = (*d)[0];
        if (recording.size() >= 3) w.order_id = recording[2];
        if (recording.size() >= 5) w.device_model = recording[4];
    }
    if (edf_plus) {
        const auto patient = subfields(field(b, 8, 80));
        if (patient.size() >= 1) w.patient_id = patient[0];
        if (patient.size() >= 2) w.patient_sex = patient[1];
        if (patient.size() >= 3) {
            if (auto d = edf_plus_date(patient[2]))
                w.patient_birth_date = std::to_string((*d)[0]) + two((*d)[1]) + two((*d)[2]);
        }
        if (patient.size() >= 4) w.patient_name = patient[3];
    }
    w.acquisition_time = start_time(field(b, 168, 8), field(b, 176, 8), year);
}

// Signal headers are stored field by field: all labels, then all transducers, and so on.
std::optional<ParseError> read_signals(std::span<const std::byte> b, std::size_t ns,
                                       std::vector<Signal>& signals) {
    const auto at = [&](std::size_t field_offset, std::size_t width, std::size_t i) {
        return field(b, kFixedHeader + field_offset * ns + i * width, width);
    };
    signals.resize(ns);
    std::size_t offset = 0;
    for (std::size_t i = 0; i < ns; ++i) {
        Signal& s = signals[i];
        s.label = trim(at(0, 16, i));
        s.annotations = s.label == "EDF Annotations";
        s.dimension = trim(at(16 + 80, 8, i));
        const std::string who = "signal " + std::to_string(i + 1) + " (" + shown(s.label) + ")";
        const auto pmin = decimal(at(104, 8, i)), pmax = decimal(at(112, 8, i));
        const auto dmin = integer(at(120, 8, i)), dmax = integer(at(128, 8, i));
        const auto per_record = integer(at(216, 8, i));
        if (!pmin || !pmax)
            return ParseError{ErrorKind::malformed, who + ": physical minimum/maximum " +
                                                        shown(at(104, 8, i)) + "/" +
                                                        shown(at(112, 8, i)) + " not numbers"};
        if (!dmin || !dmax || *dmin == *dmax || *dmin < -32768 || *dmax > 32767 || *dmin > 32767 ||
            *dmax < -32768)
            return ParseError{ErrorKind::malformed,
                              who + ": digital minimum/maximum " + shown(at(120, 8, i)) + "/" +
                                  shown(at(128, 8, i)) + " not distinct 16-bit integers"};
        if (!per_record || *per_record < 1)
            return ParseError{
                ErrorKind::malformed,
                who + ": samples per record " + shown(at(216, 8, i)) + " not a positive integer"};
        if (*per_record > static_cast<long long>(kMaxTotalSamples))
            return ParseError{ErrorKind::too_large,
                              who + ": " + std::to_string(*per_record) + " samples per record"};
        s.physical_min = *pmin;
        s.physical_max = *pmax;
        s.digital_min = *dmin;
        s.digital_max = *dmax;
        s.per_record = static_cast<std::size_t>(*per_record);
        s.offset_in_record = offset;
        offset += 2 * s.per_record;
        s.uv_per_unit = microvolts_per_unit(s.dimension);
    }
    return std::nullopt;
}

std::string rate_text(double hz) {
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "%g Hz", hz);
    return buf.data();
}

bool is_standard(const std::string& name) {
    const auto leads = standard_leads();
    return std::find(leads.begin(), leads.end(), name) != leads.end();
}

// EDF+ labels start with the signal type ("ECG V2"): the lead is what follows it.
std::string lead_name(const std::string& label) {
    if (label.starts_with("ECG ")) {
        std::string rest = standard_lead_name(label.substr(4));
        if (is_standard(rest)) return rest;
    }
    return standard_lead_name(label);
}

}  // namespace

ParseResult read_edf(std::span<const std::byte> b) {
    if (b.size() < kFixedHeader)
        return fail(ErrorKind::malformed, "EDF header truncated: " + std::to_string(b.size()) +
                                              " bytes, the fixed header alone is 256");
    if (static_cast<unsigned char>(b[0]) == 0xff)
        return fail(ErrorKind::unsupported, "BDF (24-bit samples) is not read, only EDF");
    if (trim(field(b, 0, 8)) != "0")
        return fail(ErrorKind::malformed,
                    "EDF version field is " + shown(field(b, 0, 8)) + ", not \"0\"");
    const std::string reserved = trim(field(b, 192, 44));
    const bool edf_plus = reserved.starts_with("EDF+");
    const auto ns = integer(field(b, 252, 4));
    const auto header_bytes = integer(field(b, 184, 8));
    const auto records_declared = integer(field(b, 236, 8));
    const auto record_seconds = decimal(field(b, 244, 8));
    if (!ns || *ns < 1)
        return fail(ErrorKind::malformed,
                    "number of signals " + shown(field(b, 252, 4)) + " not a positive integer");
    const std::size_t need_header = kFixedHeader + static_cast<std::size_t>(*ns) * kSignalHeader;
    if (b.size() < need_header)
        return fail(ErrorKind::malformed, "EDF header truncated: " + std::to_string(*ns) +
                                              " signals need " + std::to_string(need_header) +
                                              " header bytes, the file has " +
                                              std::to_string(b.size()));
    if (!header_bytes || *header_bytes != static_cast<long long>(need_header))
        return fail(ErrorKind::malformed, "header size field " + shown(field(b, 184, 8)) + " but " +
                                              std::to_string(*ns) + " signals need " +
                                              std::to_string(need_header));
    if (!record_seconds || !(*record_seconds > 0))
        return fail(ErrorKind::malformed, "data record duration " + shown(field(b, 244, 8)) +
                                              " not a positive number of seconds");
    if (!records_declared || *records_declared < -1 || *records_declared == 0)
        return fail(ErrorKind::malformed, "number of data records " + shown(field(b, 236, 8)) +
                                              " not a positive integer (or -1)");

    std::vector<Signal> signals;
    if (auto error = read_signals(b, static_cast<std::size_t>(*ns), signals))
        return fail(error->kind, error->reason);
    std::size_t record_bytes = 0;
    for (const auto& s : signals) record_bytes += 2 * s.per_record;

    // The records must be in the file; -1 (still recording) means "as many as are there".
    const std::size_t data_bytes = b.size() - need_header;
    const std::uint64_t records = *records_declared == -1
                                      ? data_bytes / record_bytes
                                      : static_cast<std::uint64_t>(*records_declared);
    if (records == 0 || records > data_bytes / record_bytes)
        return fail(ErrorKind::malformed,
                    "EDF declares " + std::to_string(records) + " data records of " +
                        std::to_string(record_bytes) + " bytes, the file holds " +
                        std::to_string(data_bytes) + " bytes after its header");

    // Choose the signals: voltages, not annotations; at one rate, the one most ECG leads use.
    std::map<double, std::pair<std::size_t, std::size_t>> by_rate;  // rate -> (standard, all)
    std::vector<std::string> not_voltage;
    for (const auto& s : signals) {
        if (s.annotations) continue;
        if (!s.uv_per_unit) {
            not_voltage.push_back(s.label + " (" + (s.dimension.empty() ? "no unit" : s.dimension) +
                                  ")");
            continue;
        }
        auto& [standard, all] = by_rate[static_cast<double>(s.per_record) / *record_seconds];
        standard += is_standard(lead_name(s.label)) ? 1 : 0;
        all += 1;
    }
    if (by_rate.empty())
        return fail(ErrorKind::unsupported, "no voltage signal in the EDF file (" +
                                                std::to_string(signals.size()) +
                                                " signals, none in uV, mV or V)");
    // Most standard leads, then most signals, then the highest rate.
    const auto chosen = std::max_element(by_rate.begin(), by_rate.end(), [](auto& x, auto& y) {
        return std::tie(x.second.first, x.second.second, x.first) <
               std::tie(y.second.first, y.second.second, y.first);
    });
    const double rate = chosen->first;
    const std::size_t kept = chosen->second.second;
    if (kept > kMaxLeads)
        return fail(ErrorKind::too_large, std::to_string(kept) + " signals at " + rate_text(rate) +
                                              " (limit " + std::to_string(kMaxLeads) + ")");
    std::size_t per_record = 0;
    for (const auto& s : signals)
        if (!s.annotations && s.uv_per_unit &&
            static_cast<double>(s.per_record) / *record_seconds == rate)
            per_record = s.per_record;
    if (records * per_record * kept > kMaxTotalSamples)
        return fail(ErrorKind::too_large,
                    std::to_string(kept) + " signals x " + std::to_string(records * per_record) +
                        " samples (limit " + std::to_string(kMaxTotalSamples) + " in all)");

    Waveform w;
    w.format = Format::edf;
    w.sample_rate_hz = rate;
    read_identity(b, edf_plus, w);
    for (const auto& [r, counts] : by_rate) {
        if (r != rate)
            w.notes.push_back(std::to_string(counts.second) + " signal(s) at " + rate_text(r) +
                              " left out: leads are kept at " + rate_text(rate));
    }
    if (!not_voltage.empty()) {
        std::string list;
        for (const auto& n : not_voltage) list += (list.empty() ? "" : ", ") + n;
        w.notes.push_back("signals that are not voltages left out: " + list);
    }
    if (reserved.starts_with("EDF+D"))
        w.notes.push_back("EDF+D: discontinuous records joined without their gaps");

    const std::byte* data = b.data() + need_header;
    for (const auto& s : signals) {
        if (s.annotations || !s.uv_per_unit ||
            static_cast<double>(s.per_record) / *record_seconds != rate)
            continue;
        Lead lead;
        lead.name = lead_name(s.label);
        lead.microvolts.reserve(records * s.per_record);
        const double gain = (s.physical_max - s.physical_min) /
                            static_cast<double>(s.digital_max - s.digital_min) * *s.uv_per_unit;
        const double offset = s.physical_min * *s.uv_per_unit - gain * s.digital_min;
        for (std::uint64_t r = 0; r < records; ++r) {
            const std::byte* p = data + r * record_bytes + s.offset_in_record;
            for (std::size_t k = 0; k < s.per_record; ++k, p += 2) {
                const auto raw = static_cast<std::int16_t>(static_cast<std::uint16_t>(p[0]) |
                                                           static_cast<std::uint16_t>(p[1]) << 8);
                lead.microvolts.push_back(static_cast<float>(offset + gain * raw));
            }
        }
        w.leads.push_back(std::move(lead));
    }
    ParseResult out;
    out.waveform = std::move(w);
    return out;
}

}  // namespace countylink::codecs::ecg
