// SCP-ECG (EN 1064 / ISO 11073-91064, versions 1.0 to 3.0) into the waveform model.
//
// Decoding order, as the standard's reference decoder does it: each lead's stream (Huffman per
// section 2, or raw 16-bit samples when there is no section 2), then first/second differences
// undone, then bimodal residuals interpolated back to the full rate and smoothed outside the
// protected zones, then scaled by the amplitude value multiplier, then reference beat 0
// (section 5) added back at every QRS section 4 marks as subtracted.
#include <algorithm>
#include <cstring>

#include "codecs/ecg/read.hpp"
#include "codecs/ecg/scp_sections.hpp"

namespace countylink::codecs::ecg {
namespace {

using scp::EncodedLeads;
using scp::HuffmanTables;
using scp::LeadDefinition;
using scp::QrsSection;
using scp::Refusal;
using scp::Section;
using scp::Status;

// Bimodal decimation factors we reconstruct: the standard's examples use 2 and 4.
constexpr std::size_t kMaxDecimation = 8;
// A lead's raw byte count is 16 bits: writers that cannot express a longer lead write 65534 or
// 65535 and stop there, and the lead is as long as the bytes they wrote.
constexpr std::size_t kCappedByteCount = 65534;

ParseResult fail(const Refusal& refusal) {
    return ParseResult::fail(refusal.kind, refusal.reason);
}

std::string lead_label(const Section& section, std::size_t index, std::uint8_t id,
                       std::size_t offset) {
    return section.where() + ": lead " + std::to_string(index + 1) + " (" + scp::lead_name(id) +
           ", data at offset " + std::to_string(offset) + ")";
}

// Undoes first or second differences in place. Wrapping arithmetic: hostile data gives
// nonsense values, never undefined behaviour.
void undo_differences(std::vector<std::int64_t>& v, std::uint8_t order) {
    auto add = [](std::int64_t a, std::int64_t b) {
        return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) +
                                         static_cast<std::uint64_t>(b));
    };
    if (order == 1) {
        for (std::size_t i = 1; i < v.size(); ++i) v[i] = add(v[i], v[i - 1]);
    } else if (order == 2) {
        for (std::size_t i = 2; i < v.size(); ++i)
            v[i] = add(v[i], add(add(v[i - 1], v[i - 1]), -v[i - 2]));
    }
}

// One lead's stored values: `count` of them from Huffman data, or up to `count` raw 16-bit
// samples (fewer when the bytes run out; the caller decides whether that is acceptable).
Status decode_stream(const HuffmanTables* tables, std::span<const std::byte> data,
                     std::size_t count, std::uint8_t difference, const std::string& what,
                     std::vector<std::int64_t>& out) {
    if (tables) {
        // Every code is at least one bit: refuse impossible counts before allocating for them.
        if (count > data.size() * 8)
            return scp::malformed(what + ": " + std::to_string(data.size()) +
                                  " bytes of Huffman data cannot hold " + std::to_string(count) +
                                  " samples");
        if (auto bad = scp::huffman_decode(*tables, data, count, out, what)) return bad;
    } else {
        const std::size_t n = std::min(count, data.size() / 2);
        out.resize(n);
        for (std::size_t i = 0; i < n; ++i)
            out[i] = static_cast<std::int16_t>(std::to_integer<unsigned>(data[2 * i]) |
                                               std::to_integer<unsigned>(data[2 * i + 1]) << 8);
    }
    undo_differences(out, difference);
    return std::nullopt;
}

// A protected zone clipped to one lead, as 1-based inclusive sample numbers.
struct Span {
    std::size_t start, end;
};

std::vector<Span> zones_in_lead(const QrsSection& qrs, const LeadDefinition& lead) {
    std::vector<Span> out;
    for (const auto& z : qrs.protected_zones) {
        if (z.end < lead.start || z.start > lead.end) continue;
        out.push_back(
            {std::max<std::size_t>(z.start, lead.start), std::min<std::size_t>(z.end, lead.end)});
    }
    return out;
}

// Bimodal compression keeps protected zones (the QRS complexes) at the full rate and stores
// each stretch between them as averages of `factor` samples, its last (length % factor) samples
// as they are. The number of values that leaves in the stream:
std::size_t bimodal_stored(const LeadDefinition& lead, const std::vector<Span>& zones,
                           std::size_t factor) {
    std::size_t pos = lead.start, n = 0;
    auto gap = [&](std::size_t len) { n += len / factor + len % factor; };
    for (const auto& z : zones) {
        gap(z.start - pos);
        n += z.end - z.start + 1;
        pos = z.end + 1;
    }
    gap(lead.end + 1 - pos);
    return n;
}

// The reference decoder's reconstruction of a decimated stretch: half a group of the first
// value, straight lines between successive values, half a group of the last value, then the
// undecimated tail.
void expand_gap(const std::vector<std::int64_t>& in, std::size_t& at, std::size_t len,
                std::size_t factor, std::vector<double>& out) {
    const std::size_t groups = len / factor, rest = len % factor;
    if (groups > 0) {
        const auto first = static_cast<double>(in[at]);
        for (std::size_t j = 0; j < factor / 2; ++j) out.push_back(first);
        for (std::size_t g = 0; g + 1 < groups; ++g) {
            const auto a = static_cast<double>(in[at + g]), b = static_cast<double>(in[at + g + 1]);
            for (std::size_t j = 0; j < factor; ++j)
                out.push_back(a + (b - a) * static_cast<double>(j) / static_cast<double>(factor));
        }
        const auto last = static_cast<double>(in[at + groups - 1]);
        for (std::size_t j = 0; j < factor - factor / 2; ++j) out.push_back(last);
        at += groups;
    }
    for (std::size_t j = 0; j < rest; ++j) out.push_back(static_cast<double>(in[at++]));
}

std::vector<double> expand_bimodal(const std::vector<std::int64_t>& in, const LeadDefinition& lead,
                                   const std::vector<Span>& zones, std::size_t factor) {
    std::vector<double> out;
    out.reserve(lead.samples());
    std::size_t pos = lead.start, at = 0;
    for (const auto& z : zones) {
        expand_gap(in, at, z.start - pos, factor, out);
        for (std::size_t s = z.start; s <= z.end; ++s) out.push_back(static_cast<double>(in[at++]));
        pos = z.end + 1;
    }
    expand_gap(in, at, lead.end + 1 - pos, factor, out);
    return out;
}

// After interpolation the reference decoder smooths with a 3-sample mean everywhere except in
// the protected zones and at the edges of each stretch (lead ends, subtraction zone borders),
// where the signal may jump on purpose.
void smooth_outside_zones(std::vector<double>& v, const LeadDefinition& lead,
                          const std::vector<Span>& zones, const QrsSection& qrs, bool subtracted) {
    if (v.size() < 3) return;
    std::vector<bool> keep(v.size(), false);
    keep.front() = keep.back() = true;
    auto mark = [&](std::int64_t sample) {
        const std::int64_t i = sample - static_cast<std::int64_t>(lead.start);
        if (i >= 0 && i < static_cast<std::int64_t>(v.size())) keep[i] = true;
    };
    for (const auto& z : zones)
        for (std::size_t s = z.start; s <= z.end; ++s) mark(static_cast<std::int64_t>(s));
    if (subtracted)
        for (const auto& b : qrs.beats)
            if (b.type == 0)
                for (std::int64_t s : {std::int64_t{b.start} - 1, std::int64_t{b.start},
                                       std::int64_t{b.end}, std::int64_t{b.end} + 1})
                    mark(s);
    const std::vector<double> in = v;
    for (std::size_t i = 1; i + 1 < v.size(); ++i)
        if (!keep[i]) v[i] = (in[i - 1] + in[i] + in[i + 1]) / 3.0;
}

// Adds reference beat 0 back wherever section 4 says it was subtracted: sample s of the
// subtraction zone gets the beat's sample (fiducial - 1) + (s - zone fiducial).
void add_reference_beat(std::vector<float>& uv, const LeadDefinition& lead, const QrsSection& qrs,
                        const std::vector<float>& beat) {
    for (const auto& b : qrs.beats) {
        if (b.type != 0) continue;
        const std::size_t from = std::max<std::size_t>(b.start, lead.start);
        const std::size_t to = std::min<std::size_t>(b.end, lead.end);
        for (std::size_t s = from; s <= to; ++s) {
            const std::int64_t k = std::int64_t{qrs.reference_fiducial} - 1 +
                                   static_cast<std::int64_t>(s) - std::int64_t{b.fiducial};
            const std::size_t i = s - lead.start;
            if (k >= 0 && k < static_cast<std::int64_t>(beat.size()) && i < uv.size())
                uv[i] += beat[static_cast<std::size_t>(k)];
        }
    }
}

Status check_header(const Section& section, const EncodedLeads& e, bool needs_amplitude) {
    if (needs_amplitude && e.avm_nv == 0)
        return scp::malformed(section.where() +
                              ": amplitude value multiplier is 0 nV, so the samples have no "
                              "amplitude (EN 1064 requires a positive value)");
    if (e.interval_us == 0)
        return scp::malformed(section.where() + ": sample time interval is 0 us");
    if (e.difference > 2)
        return scp::malformed(section.where() + ": difference encoding " +
                              std::to_string(e.difference) + " is not 0, 1 or 2");
    return std::nullopt;
}

// Names each lead; a derived lead (dIII ...) takes its standard name unless a recorded lead has it.
void name_leads(const std::vector<LeadDefinition>& defs, Waveform& w) {
    for (std::size_t i = 0; i < defs.size(); ++i) {
        std::string name = scp::lead_name(defs[i].id);
        if (scp::derived_lead(defs[i].id)) {
            std::string plain = standard_lead_name(name.substr(1));
            const bool standard =
                std::ranges::find(standard_leads(), plain) != standard_leads().end();
            const bool taken = std::ranges::any_of(defs, [&](const LeadDefinition& d) {
                return !scp::derived_lead(d.id) && scp::lead_name(d.id) == plain;
            });
            if (standard && !taken) name = plain;
        }
        w.leads[i].name = standard_lead_name(name);
    }
}

}  // namespace

ParseResult read_scp(std::span<const std::byte> bytes) {
    scp::Layout layout;
    if (auto bad = scp::read_layout(bytes, layout)) return fail(*bad);

    Waveform w;
    w.format = Format::scp_ecg;
    if (const Section* s1 = layout.find(1))
        if (auto bad = scp::read_patient_section(*s1, w)) return fail(*bad);

    const Section* s3 = layout.find(3);
    const Section* s6 = layout.find(6);
    if (!s3) return ParseResult::fail(ErrorKind::malformed, "SCP file: no section 3 (leads)");
    if (!s6)
        return ParseResult::fail(ErrorKind::unsupported,
                                 "SCP file: no section 6 (rhythm data); a file with only "
                                 "reference beats has no full-length leads to read");
    scp::LeadSection leads;
    if (auto bad = scp::read_lead_section(*s3, leads)) return fail(*bad);
    const std::size_t lead_count = leads.leads.size();

    HuffmanTables tables;
    const HuffmanTables* huffman = nullptr;
    if (const Section* s2 = layout.find(2)) {
        if (auto bad = scp::read_huffman_section(*s2, tables)) return fail(*bad);
        huffman = &tables;
    }

    EncodedLeads rhythm;
    if (auto bad = scp::read_encoded_section(*s6, lead_count, rhythm)) return fail(*bad);
    if (auto bad = check_header(*s6, rhythm, true)) return fail(*bad);
    if (rhythm.bimodal > 1)
        return ParseResult::fail(ErrorKind::malformed, s6->where() + ": bimodal compression flag " +
                                                           std::to_string(rhythm.bimodal) +
                                                           " is not 0 or 1");
    const bool bimodal = rhythm.bimodal == 1;
    const bool subtracted = leads.reference_beat_subtracted;

    // Reference beat subtraction and bimodal compression both need section 4 (where the QRS
    // complexes are) and section 5 (the reference beat and the full sample interval).
    QrsSection qrs;
    EncodedLeads reference;
    std::size_t factor = 1;
    if (subtracted || bimodal) {
        const std::string why = subtracted ? "section 3 says reference beats were subtracted"
                                           : "section 6 says bimodal compression was used";
        const Section* s4 = layout.find(4);
        const Section* s5 = layout.find(5);
        if (!s4 || !s5)
            return ParseResult::fail(ErrorKind::malformed, "SCP file: " + why + ", but section " +
                                                               std::string(!s4 ? "4" : "5") +
                                                               " is missing");
        if (auto bad = scp::read_qrs_section(*s4, subtracted, bimodal, qrs)) return fail(*bad);
        if (auto bad = scp::read_encoded_section(*s5, lead_count, reference)) return fail(*bad);
        if (auto bad = check_header(*s5, reference, subtracted)) return fail(*bad);
        if (bimodal) {
            if (rhythm.interval_us % reference.interval_us != 0 ||
                rhythm.interval_us / reference.interval_us > kMaxDecimation)
                return ParseResult::fail(ErrorKind::unsupported,
                                         s6->where() + ": bimodal rhythm interval " +
                                             std::to_string(rhythm.interval_us) +
                                             " us is not 1 to " + std::to_string(kMaxDecimation) +
                                             " times the reference beat's " +
                                             std::to_string(reference.interval_us) + " us");
            factor = rhythm.interval_us / reference.interval_us;
        } else if (reference.interval_us != rhythm.interval_us) {
            return ParseResult::fail(
                ErrorKind::unsupported,
                s6->where() + ": rhythm sampled every " + std::to_string(rhythm.interval_us) +
                    " us but the subtracted reference beat every " +
                    std::to_string(reference.interval_us) + " us, without bimodal compression");
        }
    }
    const std::uint16_t interval = factor > 1 ? reference.interval_us : rhythm.interval_us;
    w.sample_rate_hz = 1e6 / interval;

    // Reference beat 0 per lead, in microvolts.
    std::vector<std::vector<float>> beats(lead_count);
    if (subtracted) {
        const std::size_t beat_samples =
            std::size_t{qrs.reference_length_ms} * 1000 / reference.interval_us;
        if (beat_samples * lead_count > kMaxTotalSamples)
            return ParseResult::fail(ErrorKind::too_large,
                                     layout.find(4)->where() + ": reference beat of " +
                                         std::to_string(qrs.reference_length_ms) +
                                         " ms is beyond the samples accepted");
        const Section* s5 = layout.find(5);
        for (std::size_t i = 0; i < lead_count; ++i) {
            const std::string what =
                lead_label(*s5, i, leads.leads[i].id, reference.data_offsets[i]);
            std::vector<std::int64_t> values;
            if (auto bad = decode_stream(huffman, reference.data[i], beat_samples,
                                         reference.difference, what, values))
                return fail(*bad);
            if (values.size() < beat_samples)
                return ParseResult::fail(
                    ErrorKind::malformed,
                    what + ": raw data holds " + std::to_string(values.size()) + " of the " +
                        std::to_string(beat_samples) + " reference beat samples");
            beats[i].reserve(values.size());
            for (auto v : values)
                beats[i].push_back(
                    static_cast<float>(static_cast<double>(v) * reference.avm_nv / 1000.0));
        }
    }

    w.leads.resize(lead_count);
    for (std::size_t i = 0; i < lead_count; ++i) {
        const LeadDefinition& def = leads.leads[i];
        const std::string what = lead_label(*s6, i, def.id, rhythm.data_offsets[i]);
        const auto zones = factor > 1 ? zones_in_lead(qrs, def) : std::vector<Span>{};
        const std::size_t stored = factor > 1 ? bimodal_stored(def, zones, factor) : def.samples();
        std::vector<std::int64_t> values;
        if (auto bad =
                decode_stream(huffman, rhythm.data[i], stored, rhythm.difference, what, values))
            return fail(*bad);
        if (values.size() < stored) {
            // Only raw data gets here. A capped byte count is a writer that could not say more.
            if (rhythm.data[i].size() < kCappedByteCount || factor > 1)
                return ParseResult::fail(
                    ErrorKind::malformed,
                    what + ": " + std::to_string(rhythm.data[i].size()) +
                        " bytes of raw data hold " + std::to_string(values.size()) + " of the " +
                        std::to_string(stored) + " samples section 3 declares");
        }
        std::vector<double> full;
        if (factor > 1) {
            full = expand_bimodal(values, def, zones, factor);
            smooth_outside_zones(full, def, zones, qrs, subtracted);
        } else {
            full.assign(values.begin(), values.end());
        }
        auto& uv = w.leads[i].microvolts;
        uv.reserve(full.size());
        for (double v : full) uv.push_back(static_cast<float>(v * rhythm.avm_nv / 1000.0));
        if (subtracted) add_reference_beat(uv, def, qrs, beats[i]);
    }
    name_leads(leads.leads, w);

    if (const Section* s7 = layout.find(7)) scp::read_measurement_section(*s7, w.measurements);
    ParseResult result;
    result.waveform = std::move(w);
    return result;
}

}  // namespace countylink::codecs::ecg
