// PhysioNet WFDB records: a text header (.hea) naming one or more signal files (.dat) beside it.
// Formats 16 (int16 LE), 212 (two 12-bit samples in three bytes) and 80 (8-bit offset binary).
// Every declared count is checked against the limits and against the bytes on disk before any
// allocation; the header's per-signal checksums are verified.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "codecs/ecg/read.hpp"

namespace countylink::codecs::ecg {
namespace {

constexpr std::uintmax_t kMaxHeaderBytes = 1 << 20;
constexpr double kDefaultGain = 200;  // adu per physical unit when the header gives none or 0

struct SignalSpec {
    std::string file;
    int format = 0;
    std::size_t byte_offset = 0;
    double gain = kDefaultGain;
    double baseline = 0;
    double to_microvolts = 1000;  // physical units -> µV (mV by default)
    bool has_checksum = false;
    int checksum = 0;
    std::string description;
};

struct Header {
    std::string record;
    std::size_t signals = 0;
    double sample_rate = 250;  // WFDB default
    std::optional<std::size_t> samples;
    std::string base_time, base_date;
    std::vector<SignalSpec> specs;
};

std::vector<std::string> split_ws(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string word; in >> word;) out.push_back(word);
    return out;
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
    if (text.empty()) return false;
    if (text.front() == '+') text.remove_prefix(1);
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && p == text.data() + text.size();
}

bool parse_double(std::string_view text, double& out) {
    if (!parse_number(text, out)) return false;
    return std::isfinite(out);
}

// "hh:mm:ss" and "dd/mm/yyyy" into ISO 8601, when both are well formed.
std::string iso_time(const std::string& time, const std::string& date) {
    int h = 0, m = 0, d = 0, mo = 0, y = 0;
    double s = 0;
    char c1 = 0, c2 = 0, c3 = 0, c4 = 0;
    std::istringstream t(time), dt(date);
    if (!(t >> h >> c1 >> m >> c2 >> s) || c1 != ':' || c2 != ':') return {};
    if (!(dt >> d >> c3 >> mo >> c4 >> y) || c3 != '/' || c4 != '/') return {};
    if (h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s >= 61 || d < 1 || d > 31 || mo < 1 ||
        mo > 12 || y < 1 || y > 9999)
        return {};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, h, m,
                  static_cast<int>(s));
    return buf;
}

std::optional<ParseError> parse_record_line(const std::string& line, Header& h) {
    auto words = split_ws(line);
    if (words.size() < 2)
        return ParseError{ErrorKind::malformed, "WFDB header line 1: no signal count"};
    h.record = words[0];
    if (h.record.find('/') != std::string::npos)
        return ParseError{ErrorKind::unsupported, "WFDB multi-segment records are not read"};
    if (!parse_number(words[1], h.signals))
        return ParseError{ErrorKind::malformed,
                          "WFDB header line 1: bad signal count '" + words[1] + "'"};
    if (h.signals == 0) return ParseError{ErrorKind::malformed, "WFDB header declares no signals"};
    if (h.signals > kMaxLeads)
        return ParseError{ErrorKind::too_large, "WFDB header declares " + words[1] +
                                                    " signals (limit " + std::to_string(kMaxLeads) +
                                                    ")"};
    if (words.size() > 2) {
        // "500", "500/1000(0)": the sampling frequency is the part before any '/' or '('.
        std::string f = words[2].substr(0, words[2].find_first_of("/("));
        if (!parse_double(f, h.sample_rate) || h.sample_rate <= 0 || h.sample_rate > 1e6)
            return ParseError{ErrorKind::malformed,
                              "WFDB header line 1: bad sampling frequency '" + words[2] + "'"};
    }
    if (words.size() > 3) {
        std::size_t n = 0;
        if (!parse_number(words[3], n))
            return ParseError{ErrorKind::malformed,
                              "WFDB header line 1: bad sample count '" + words[3] + "'"};
        if (n > kMaxTotalSamples)
            return ParseError{ErrorKind::too_large,
                              "WFDB header declares " + words[3] + " samples per signal"};
        if (n > 0) h.samples = n;
    }
    if (words.size() > 5) {
        h.base_time = words[4];
        h.base_date = words[5];
    }
    return std::nullopt;
}

std::optional<ParseError> parse_signal_line(const std::string& line, std::size_t line_no,
                                            SignalSpec& s) {
    const std::string where = "WFDB header line " + std::to_string(line_no) + ": ";
    auto words = split_ws(line);
    if (words.size() < 2) return ParseError{ErrorKind::malformed, where + "no signal format"};
    s.file = words[0];
    if (s.file == "~")
        return ParseError{ErrorKind::unsupported, where + "signal without a file ('~')"};
    // The signal file must sit beside the header: never a path that leaves its directory.
    if (s.file.find('/') != std::string::npos || s.file.find('\\') != std::string::npos ||
        s.file == "." || s.file == "..")
        return ParseError{ErrorKind::malformed,
                          where + "signal file '" + s.file + "' is not a plain file name"};
    // format[xsamp][:skew][+offset]
    std::string f = words[1];
    std::string offset;
    if (auto plus = f.find('+'); plus != std::string::npos) {
        offset = f.substr(plus + 1);
        f.erase(plus);
    }
    if (auto colon = f.find(':'); colon != std::string::npos) {
        int skew = 0;
        if (!parse_number(std::string_view(f).substr(colon + 1), skew))
            return ParseError{ErrorKind::malformed, where + "bad skew in '" + words[1] + "'"};
        if (skew != 0) return ParseError{ErrorKind::unsupported, where + "skewed signals"};
        f.erase(colon);
    }
    if (auto x = f.find('x'); x != std::string::npos) {
        int xsamp = 0;
        if (!parse_number(std::string_view(f).substr(x + 1), xsamp) || xsamp < 1)
            return ParseError{ErrorKind::malformed, where + "bad samples per frame"};
        if (xsamp != 1)
            return ParseError{ErrorKind::unsupported, where + "several samples per frame"};
        f.erase(x);
    }
    if (!parse_number(f, s.format))
        return ParseError{ErrorKind::malformed, where + "bad format '" + words[1] + "'"};
    if (s.format != 16 && s.format != 212 && s.format != 80)
        return ParseError{
            ErrorKind::unsupported,
            where + "WFDB format " + std::to_string(s.format) + " (only 16, 212 and 80 are read)"};
    if (!offset.empty() && !parse_number(offset, s.byte_offset))
        return ParseError{ErrorKind::malformed, where + "bad byte offset '" + offset + "'"};

    // adcgain[(baseline)][/units]
    bool has_baseline = false;
    if (words.size() > 2) {
        std::string g = words[2];
        std::string units = "mV";
        if (auto slash = g.find('/'); slash != std::string::npos) {
            units = g.substr(slash + 1);
            g.erase(slash);
        }
        if (auto open = g.find('('); open != std::string::npos) {
            auto close = g.find(')', open);
            if (close == std::string::npos || close != g.size() - 1)
                return ParseError{ErrorKind::malformed,
                                  where + "bad baseline in '" + words[2] + "'"};
            if (!parse_double(std::string_view(g).substr(open + 1, close - open - 1), s.baseline))
                return ParseError{ErrorKind::malformed,
                                  where + "bad baseline in '" + words[2] + "'"};
            has_baseline = true;
            g.erase(open);
        }
        if (!parse_double(g, s.gain) || s.gain < 0)
            return ParseError{ErrorKind::malformed, where + "bad gain '" + words[2] + "'"};
        if (s.gain == 0) s.gain = kDefaultGain;
        if (units == "mV") {
            s.to_microvolts = 1000;
        } else if (units == "uV" || units == "\xC2\xB5V") {
            s.to_microvolts = 1;
        } else if (units == "V") {
            s.to_microvolts = 1e6;
        } else {
            return ParseError{ErrorKind::unsupported,
                              where + "units '" + units + "' are not a voltage"};
        }
    }
    // adcres adczero initval checksum blocksize description...
    if (words.size() > 4) {
        double zero = 0;
        if (!parse_double(words[4], zero))
            return ParseError{ErrorKind::malformed, where + "bad ADC zero '" + words[4] + "'"};
        if (!has_baseline) s.baseline = zero;  // the baseline defaults to the ADC zero
    }
    if (words.size() > 6) {
        if (!parse_number(words[6], s.checksum))
            return ParseError{ErrorKind::malformed, where + "bad checksum '" + words[6] + "'"};
        s.has_checksum = true;
    }
    for (std::size_t i = 8; i < words.size(); ++i) {
        if (!s.description.empty()) s.description += ' ';
        s.description += words[i];
    }
    return std::nullopt;
}

std::optional<ParseError> parse_header(std::istream& in, Header& h) {
    std::string line;
    std::size_t line_no = 0;
    bool have_record = false;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        if (!have_record) {
            if (auto e = parse_record_line(line, h)) return e;
            have_record = true;
            continue;
        }
        if (h.specs.size() == h.signals) break;  // anything after the signals is info text
        SignalSpec s;
        if (auto e = parse_signal_line(line, line_no, s)) return e;
        h.specs.push_back(std::move(s));
    }
    if (!have_record) return ParseError{ErrorKind::malformed, "WFDB header has no record line"};
    if (h.specs.size() != h.signals)
        return ParseError{ErrorKind::malformed,
                          "WFDB header declares " + std::to_string(h.signals) +
                              " signals but has " + std::to_string(h.specs.size()) +
                              " signal lines"};
    return std::nullopt;
}

// Bytes one frame (one sample of every signal in the file) occupies, times `frames`.
std::uintmax_t bytes_for(int format, std::size_t per_frame, std::uintmax_t frames) {
    const std::uintmax_t values = per_frame * frames;
    switch (format) {
        case 16:
            return values * 2;
        case 212:
            return (values * 3 + 1) / 2;
        default:
            return values;
    }
}

std::uintmax_t frames_in(int format, std::size_t per_frame, std::uintmax_t bytes) {
    switch (format) {
        case 16:
            return bytes / 2 / per_frame;
        case 212:
            return bytes * 2 / 3 / per_frame;
        default:
            return bytes / per_frame;
    }
}

// Decodes `count` values from `data` (already checked to be long enough).
std::vector<int> decode(int format, const std::vector<unsigned char>& data, std::size_t count) {
    std::vector<int> out(count);
    if (format == 16) {
        for (std::size_t i = 0; i < count; ++i)
            out[i] = static_cast<std::int16_t>(data[2 * i] | (data[2 * i + 1] << 8));
    } else if (format == 212) {
        for (std::size_t i = 0; i < count; ++i) {
            const std::size_t b = (i / 2) * 3;
            int v = (i % 2 == 0) ? (data[b] | ((data[b + 1] & 0x0F) << 8))
                                 : (data[b + 2] | ((data[b + 1] & 0xF0) << 4));
            out[i] = v >= 0x800 ? v - 0x1000 : v;
        }
    } else {
        for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<int>(data[i]) - 128;
    }
    return out;
}

int invalid_marker(int format) {
    return format == 16 ? -32768 : format == 212 ? -2048 : -128;
}

}  // namespace

ParseResult read_wfdb(const std::filesystem::path& header_path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto header_size = fs::file_size(header_path, ec);
    if (ec)
        return ParseResult::fail(
            ErrorKind::malformed,
            "cannot read WFDB header " + header_path.string() + ": " + ec.message());
    if (header_size > kMaxHeaderBytes)
        return ParseResult::fail(ErrorKind::too_large,
                                 "WFDB header is " + std::to_string(header_size) + " bytes");
    std::ifstream hin(header_path, std::ios::binary);
    if (!hin) return ParseResult::fail(ErrorKind::malformed, "cannot open " + header_path.string());
    Header h;
    if (auto e = parse_header(hin, h)) return ParseResult::fail(e->kind, e->reason);

    // Group signals by file, in order: a file's frame holds its signals in header order.
    std::vector<std::string> files;
    std::map<std::string, std::vector<std::size_t>> members;
    for (std::size_t i = 0; i < h.specs.size(); ++i) {
        const auto& s = h.specs[i];
        auto& m = members[s.file];
        if (m.empty()) files.push_back(s.file);
        if (!m.empty()) {
            const auto& first = h.specs[m.front()];
            if (first.format != s.format || first.byte_offset != s.byte_offset)
                return ParseResult::fail(
                    ErrorKind::malformed,
                    "WFDB signals in " + s.file + " disagree on format or byte offset");
        }
        m.push_back(i);
    }

    // Frames per file: declared, else what the file holds; every file must hold them all.
    std::optional<std::size_t> frames = h.samples;
    std::map<std::string, std::uintmax_t> sizes;
    for (const auto& file : files) {
        const auto path = header_path.parent_path() / file;
        const auto size = fs::file_size(path, ec);
        if (ec)
            return ParseResult::fail(ErrorKind::malformed,
                                     "WFDB signal file " + file + " missing: " + ec.message());
        const auto& first = h.specs[members[file].front()];
        if (first.byte_offset > size)
            return ParseResult::fail(ErrorKind::malformed, "WFDB signal file " + file +
                                                               " is shorter than its byte offset");
        sizes[file] = size;
        if (!frames) {
            frames = frames_in(first.format, members[file].size(), size - first.byte_offset);
        }
    }
    if (!frames || *frames == 0)
        return ParseResult::fail(ErrorKind::malformed,
                                 "WFDB record " + h.record + " has no samples");
    if (*frames * h.signals > kMaxTotalSamples)
        return ParseResult::fail(ErrorKind::too_large,
                                 "WFDB record declares " + std::to_string(*frames) +
                                     " samples of " + std::to_string(h.signals) + " signals");

    Waveform w;
    w.format = Format::wfdb;
    w.sample_rate_hz = h.sample_rate;
    if (!h.base_time.empty()) w.acquisition_time = iso_time(h.base_time, h.base_date);
    w.leads.resize(h.signals);
    for (const auto& file : files) {
        const auto& ids = members[file];
        const auto& first = h.specs[ids.front()];
        const std::uintmax_t need = bytes_for(first.format, ids.size(), *frames);
        const std::uintmax_t have = sizes[file] - first.byte_offset;
        if (have < need)
            return ParseResult::fail(ErrorKind::malformed,
                                     "WFDB signal file " + file + " truncated: holds " +
                                         std::to_string(have) + " bytes, header needs " +
                                         std::to_string(need));
        std::ifstream in(header_path.parent_path() / file, std::ios::binary);
        if (!in) return ParseResult::fail(ErrorKind::malformed, "cannot open " + file);
        in.seekg(static_cast<std::streamoff>(first.byte_offset));
        std::vector<unsigned char> data(need);
        if (!in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(need)))
            return ParseResult::fail(ErrorKind::malformed, "cannot read " + file);
        const auto values = decode(first.format, data, ids.size() * *frames);
        const int invalid = invalid_marker(first.format);
        for (std::size_t k = 0; k < ids.size(); ++k) {
            const auto& s = h.specs[ids[k]];
            auto& lead = w.leads[ids[k]];
            lead.name = s.description.empty() ? "signal " + std::to_string(ids[k] + 1)
                                              : standard_lead_name(s.description);
            lead.microvolts.resize(*frames);
            int sum = 0;
            float held = 0;  // an invalid sample repeats the last valid one (the model has no gaps)
            for (std::size_t t = 0; t < *frames; ++t) {
                const int v = values[t * ids.size() + k];
                sum = static_cast<std::int16_t>(static_cast<std::uint16_t>(sum + v));
                if (v != invalid)
                    held = static_cast<float>((v - s.baseline) / s.gain * s.to_microvolts);
                lead.microvolts[t] = held;
            }
            if (s.has_checksum && static_cast<std::int16_t>(s.checksum) != sum)
                return ParseResult::fail(ErrorKind::malformed,
                                         "WFDB signal " + std::to_string(ids[k] + 1) + " (" +
                                             lead.name + "): checksum " + std::to_string(sum) +
                                             " does not match the header's " +
                                             std::to_string(s.checksum));
        }
    }
    ParseResult r;
    r.waveform = std::move(w);
    return r;
}

}  // namespace countylink::codecs::ecg
