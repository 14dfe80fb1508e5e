// SCP-ECG sections 3 (lead definitions), 4 (QRS locations), 5/6 (encoded lead data headers) and
// 7 (global measurements), and the standard's lead codes.
#include <array>

#include "codecs/ecg/scp_sections.hpp"

namespace countylink::codecs::ecg::scp {
namespace {

// EN 1064 lead codes 0..184 (3.0 extended the 1.x/2.0 list; a 1.x file uses the first 86).
constexpr std::array<std::string_view, 185> kLeadNames = {
    "",      "I",      "II",     "V1",     "V2",     "V3",     "V4",      "V5",   "V6",    "V7",
    "V2R",   "V3R",    "V4R",    "V5R",    "V6R",    "V7R",    "X",       "Y",    "Z",     "CC5",
    "CM5",   "LA",     "RA",     "LL",     "fI",     "fE",     "fC",      "fA",   "fM",    "fF",
    "fH",    "dI",     "dII",    "dV1",    "dV2",    "dV3",    "dV4",     "dV5",  "dV6",   "dV7",
    "dV2R",  "dV3R",   "dV4R",   "dV5R",   "dV6R",   "dV7R",   "dX",      "dY",   "dZ",    "dCC5",
    "dCM5",  "dLA",    "dRA",    "dLL",    "dfI",    "dfE",    "dfC",     "dfA",  "dfM",   "dfF",
    "dfH",   "III",    "aVR",    "aVL",    "aVF",    "-aVR",   "V8",      "V9",   "V8R",   "V9R",
    "D",     "A",      "J",      "Defib",  "Extern", "A1",     "A2",      "A3",   "A4",    "dV8",
    "dV9",   "dV8R",   "dV9R",   "dD",     "dA",     "dJ",     "Chest",   "V",    "VR",    "VL",
    "VF",    "MCL",    "MCL1",   "MCL2",   "MCL3",   "MCL4",   "MCL5",    "MCL6", "CC",    "CC1",
    "CC2",   "CC3",    "CC4",    "CC6",    "CC7",    "CM",     "CM1",     "CM2",  "CM3",   "CM4",
    "CM6",   "dIII",   "daVR",   "daVL",   "daVF",   "d-aVR",  "dChest",  "dV",   "dVR",   "dVL",
    "dVF",   "CM7",    "CH5",    "CS5",    "CB5",    "CR5",    "ML",      "AB1",  "AB2",   "AB3",
    "AB4",   "ES",     "AS",     "AI",     "S",      "dDefib", "dExtern", "dA1",  "dA2",   "dA3",
    "dA4",   "dMCL1",  "dMCL2",  "dMCL3",  "dMCL4",  "dMCL5",  "dMCL6",   "RL",   "CV5RL", "CV6LL",
    "CV6LU", "V10",    "dMCL",   "dCC",    "dCC1",   "dCC2",   "dCC3",    "dCC4", "dCC6",  "dCC7",
    "dCM",   "dCM1",   "dCM2",   "dCM3",   "dCM4",   "dCM6",   "dCM7",    "dCH5", "dCS5",  "dCB5",
    "dCR5",  "dML",    "dAB1",   "dAB2",   "dAB3",   "dAB4",   "dES",     "dAS",  "dAI",   "dS",
    "dRL",   "dCV5RL", "dCV6LL", "dCV6LU", "dV10"};

// Section 7 marks a value not computed with 29999 (and rejected ones with 29998); nothing real
// comes near.
bool present(std::uint16_t v) {
    return v < 19999;
}
bool present_axis(std::int16_t v) {
    return v >= -360 && v <= 360;
}

}  // namespace

std::string lead_name(std::uint8_t id) {
    if (id != 0 && id < kLeadNames.size()) return std::string(kLeadNames[id]);
    return "lead " + std::to_string(id);
}

bool derived_lead(std::uint8_t id) {
    return id < kLeadNames.size() && kLeadNames[id].starts_with('d');
}

Status read_lead_section(const Section& section, LeadSection& out) {
    Cursor c(section);
    if (auto bad = c.need(2, "number of leads and flags")) return bad;
    const std::uint8_t count = c.u8();
    const std::uint8_t flags = c.u8();
    if (count == 0) return malformed(section.where() + ": defines no leads");
    if (count > kMaxLeads)
        return Refusal{ErrorKind::too_large, section.where() + ": " + std::to_string(count) +
                                                 " leads, more than the " +
                                                 std::to_string(kMaxLeads) + " accepted"};
    if (auto bad = c.need(std::size_t{count} * 9, std::to_string(count) + " lead definitions"))
        return bad;
    out.reference_beat_subtracted = flags & 0x01;
    out.all_simultaneous = flags & 0x04;
    out.simultaneous = flags >> 3;
    out.leads.resize(count);
    std::size_t total = 0;
    for (std::size_t i = 0; i < count; ++i) {
        auto& lead = out.leads[i];
        const std::size_t at = c.file_offset();
        lead.start = c.u32();
        lead.end = c.u32();
        lead.id = c.u8();
        const std::string name = section.where() + ": lead " + std::to_string(i + 1) + " (" +
                                 lead_name(lead.id) + ", offset " + std::to_string(at) + ")";
        if (lead.start == 0 || lead.end < lead.start)
            return malformed(name + ": samples " + std::to_string(lead.start) + " to " +
                             std::to_string(lead.end) + " are not a range of 1-based samples");
        total += lead.samples();
        if (lead.samples() > kMaxTotalSamples || total > kMaxTotalSamples)
            return Refusal{ErrorKind::too_large, name + ": " + std::to_string(lead.samples()) +
                                                     " samples take the file past the " +
                                                     std::to_string(kMaxTotalSamples) +
                                                     " samples accepted"};
    }
    return std::nullopt;
}

Status read_qrs_section(const Section& section, bool subtracted, bool bimodal, QrsSection& out) {
    Cursor c(section);
    if (auto bad = c.need(6, "reference beat header")) return bad;
    out.reference_length_ms = c.u16();
    out.reference_fiducial = c.u16();
    const std::uint16_t count = c.u16();
    if (auto bad =
            c.need(std::size_t{count} * 14, std::to_string(count) + " QRS subtraction zones"))
        return bad;
    out.beats.resize(count);
    for (auto& beat : out.beats) {
        beat.type = c.u16();
        beat.start = c.u32();
        beat.fiducial = c.u32();
        beat.end = c.u32();
    }
    // Protected zones follow from 1.2 on; 1.0/1.1 writers left them out, and the subtraction
    // zones are the protected ones then.
    if (c.remaining() >= std::size_t{count} * 8) {
        out.protected_zones.resize(count);
        for (auto& zone : out.protected_zones) {
            zone.start = c.u32();
            zone.end = c.u32();
        }
    } else {
        for (const auto& beat : out.beats) out.protected_zones.push_back({beat.start, beat.end});
    }
    // Zones in order and apart: the decoder walks them once per lead, so overlapping ones would
    // be both meaningless and a way to make it work for hours. Only the zones the file uses are
    // checked: unused ones may hold anything (zeros, often).
    for (std::size_t z = 0; bimodal && z < out.protected_zones.size(); ++z) {
        const auto& zone = out.protected_zones[z];
        if (zone.end < zone.start || (z > 0 && zone.start <= out.protected_zones[z - 1].end))
            return malformed(section.where() + ": protected zone " + std::to_string(z + 1) +
                             " (samples " + std::to_string(zone.start) + " to " +
                             std::to_string(zone.end) + ") is empty or overlaps the one before");
    }
    const BeatZone* previous = nullptr;
    for (std::size_t b = 0; subtracted && b < out.beats.size(); ++b) {
        const auto& beat = out.beats[b];
        if (beat.type != 0) continue;
        if (beat.end < beat.start || (previous && beat.start <= previous->end))
            return malformed(section.where() + ": subtraction zone of QRS " +
                             std::to_string(b + 1) + " (samples " + std::to_string(beat.start) +
                             " to " + std::to_string(beat.end) +
                             ") is empty or overlaps the one before");
        previous = &beat;
    }
    return std::nullopt;
}

Status read_encoded_section(const Section& section, std::size_t lead_count, EncodedLeads& out) {
    Cursor c(section);
    if (auto bad =
            c.need(6 + 2 * lead_count, "data header for " + std::to_string(lead_count) + " leads"))
        return bad;
    out.avm_nv = c.u16();
    out.interval_us = c.u16();
    out.difference = c.u8();
    out.bimodal = c.u8();
    std::vector<std::uint16_t> sizes(lead_count);
    std::size_t total = 0;
    for (auto& size : sizes) total += size = c.u16();
    if (auto bad = c.need(total, "lead data (" + std::to_string(total) + " bytes)")) return bad;
    for (auto size : sizes) {
        out.data_offsets.push_back(c.file_offset());
        out.data.push_back(c.take(size));
    }
    return std::nullopt;
}

void read_measurement_section(const Section& section, std::vector<Measurement>& out) {
    Cursor c(section);
    if (c.remaining() < 6) return;
    const std::uint8_t beat_types = c.u8();
    const std::uint8_t spikes = c.u8();
    const std::uint16_t rr = c.u16();
    const std::uint16_t pp = c.u16();
    auto add = [&out](std::string name, double value, std::string unit) {
        Measurement m;
        m.name = std::move(name);
        m.value = value;
        m.unit = std::move(unit);
        out.push_back(std::move(m));
    };
    if (present(rr) && rr > 0) add("RR interval", rr, "ms");
    if (present(pp) && pp > 0) add("PP interval", pp, "ms");

    // Reference beat 0's fiducial points (ms from the beat's start) and axes (degrees).
    if (beat_types > 0 && c.remaining() >= 16) {
        const std::uint16_t p_on = c.u16(), p_off = c.u16(), qrs_on = c.u16(), qrs_off = c.u16(),
                            t_off = c.u16();
        const std::int16_t p_axis = c.i16(), qrs_axis = c.i16(), t_axis = c.i16();
        if (present(p_on) && present(p_off) && p_off >= p_on) add("P duration", p_off - p_on, "ms");
        if (present(p_on) && present(qrs_on) && qrs_on >= p_on)
            add("PR interval", qrs_on - p_on, "ms");
        if (present(qrs_on) && present(qrs_off) && qrs_off >= qrs_on)
            add("QRS duration", qrs_off - qrs_on, "ms");
        if (present(qrs_on) && present(t_off) && t_off >= qrs_on)
            add("QT interval", t_off - qrs_on, "ms");
        if (present_axis(p_axis)) add("P axis", p_axis, "deg");
        if (present_axis(qrs_axis)) add("QRS axis", qrs_axis, "deg");
        if (present_axis(t_axis)) add("T axis", t_axis, "deg");
        c.skip(std::size_t{beat_types - 1u} * 16);
    } else {
        c.skip(std::size_t{beat_types} * 16);
    }
    // Pacemaker spikes (4 + 6 bytes each), then the QRS type list, then (2.0 on) the rates.
    c.skip(std::size_t{spikes} * 10);
    if (c.remaining() >= 2) {
        const std::uint16_t qrs_count = c.u16();
        if (qrs_count != 29999 && c.remaining() >= std::size_t{qrs_count} + 6) {
            c.skip(qrs_count);
            const std::uint16_t ventricular = c.u16(), atrial = c.u16(), qtc = c.u16();
            if (present(ventricular) && ventricular > 0)
                add("Ventricular rate", ventricular, "/min");
            if (present(atrial) && atrial > 0) add("Atrial rate", atrial, "/min");
            if (present(qtc) && qtc > 0) add("QTc interval", qtc, "ms");
        }
    }
}

}  // namespace countylink::codecs::ecg::scp
