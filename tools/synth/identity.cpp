#include "identity.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <initializer_list>

#include "random.hpp"

namespace countylink::synth {

namespace {

constexpr std::array<std::string_view, 20> kSurnames{
    "WANG", "LI",  "ZHANG", "LIU", "CHEN", "YANG", "ZHAO", "HUANG", "ZHOU", "WU",
    "XU",   "SUN", "MA",    "ZHU", "HU",   "GUO",  "HE",   "LIN",   "GAO",  "LUO"};
constexpr std::array<std::string_view, 10> kMaleGiven{"WEI", "QIANG", "JUN",  "LEI",  "YONG",
                                                      "JIE", "TAO",   "MING", "CHAO", "HUA"};
constexpr std::array<std::string_view, 10> kFemaleGiven{"FANG", "NA",  "XIUYING", "MIN", "JING",
                                                        "LI",   "YAN", "JUAN",    "XIA", "LING"};
constexpr std::array<std::string_view, 4> kReferrers{"ZHOU^MIN^^DR", "SUN^LEI^^DR", "GAO^JING^^DR",
                                                     "HE^QIANG^^DR"};

// Salt values keeping the hash streams of different attributes apart.
enum class Salt : std::uint64_t { uid = 0x5549, study = 0x5354 };

// Joins the parts into a new string. Used instead of "literal" + std::string and assignment
// from literals, on which GCC 12 at -O3 gives false -Wrestrict warnings.
std::string concat(std::initializer_list<std::string_view> parts) {
    std::size_t size = 0;
    for (const auto part : parts) size += part.size();
    std::string joined;
    joined.reserve(size);
    for (const auto part : parts) joined.append(part);
    return joined;
}

// Formats a calendar date as DICOM DA "YYYYMMDD".
std::string dicom_date(std::chrono::sys_days day) {
    const std::chrono::year_month_day ymd{day};
    std::array<char, 16> text{};
    std::snprintf(text.data(), text.size(), "%04d%02u%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return text.data();
}

// Whole years from `birth` to `on` (the usual birthday rule).
int age_in_years(std::chrono::sys_days birth, std::chrono::sys_days on) {
    const std::chrono::year_month_day b{birth};
    const std::chrono::year_month_day o{on};
    int years = static_cast<int>(o.year()) - static_cast<int>(b.year());
    if (o.month() < b.month() || (o.month() == b.month() && o.day() < b.day())) --years;
    return years;
}

// Zero-padded decimal of `value % 10^digits`, `digits` wide.
std::string digits_of(std::uint64_t value, int digits) {
    std::uint64_t modulus = 1;
    for (int i = 0; i < digits; ++i) modulus *= 10U;
    std::array<char, 32> text{};
    std::snprintf(text.data(), text.size(), "%0*llu", digits,
                  static_cast<unsigned long long>(value % modulus));
    return text.data();
}

}  // namespace

std::string make_uid(std::uint64_t seed, Kind kind, UidRole role, std::uint32_t study,
                     std::uint32_t instance) {
    const std::uint64_t h = mix_keys(seed, Salt::uid, kind, role, study, instance);
    std::string uid{kUidRoot};
    uid += '.';
    uid += std::to_string(static_cast<unsigned>(role));
    uid += '.';
    uid += std::to_string(h >> 1U);  // <= 19 digits; decimal never has a leading zero
    return uid;
}

ObjectSlot slot_for(std::uint32_t index, std::uint32_t count, std::uint32_t studies) {
    const std::uint32_t base = count / studies;
    const std::uint32_t extra = count % studies;  // the first `extra` studies get base + 1
    const std::uint32_t big_span = extra * (base + 1U);
    ObjectSlot slot;
    slot.index = index;
    if (index < big_span) {
        slot.study = index / (base + 1U);
        slot.instance = index % (base + 1U) + 1U;
        slot.series_size = base + 1U;
    } else {
        slot.study = extra + (index - big_span) / base;
        slot.instance = (index - big_span) % base + 1U;
        slot.series_size = base;
    }
    return slot;
}

StudyIdentity make_study_identity(const Options& options, std::uint32_t study) {
    using namespace std::chrono;
    Rng rng{mix_keys(options.seed, Salt::study, options.kind, study)};
    StudyIdentity id;

    const bool male = rng.between(0, 1) == 0;
    const std::string_view given = male ? kMaleGiven[rng.between(0, kMaleGiven.size() - 1)]
                                        : kFemaleGiven[rng.between(0, kFemaleGiven.size() - 1)];
    id.sex = concat({male ? "M" : "F"});
    id.patient_name = concat({kSurnames[rng.between(0, kSurnames.size() - 1)], "^", given});
    id.patient_id = concat({options.patient_prefix, digits_of(rng.next(), 8)});

    const sys_days study_day = sys_days{year{2024} / January / 1} + days{rng.between(0, 729)};
    const sys_days birth_day = study_day - days{rng.between(18 * 365, 85 * 365)};
    id.study_date = dicom_date(study_day);
    id.birth_date = dicom_date(birth_day);
    id.age =
        concat({digits_of(static_cast<std::uint64_t>(age_in_years(birth_day, study_day)), 3), "Y"});
    id.study_seconds = rng.between(8 * 3600, 16 * 3600);

    id.accession_number = concat({"A", digits_of(rng.next(), 10)});
    id.study_id = digits_of(rng.next(), 6);
    id.referring_physician = concat({kReferrers[rng.between(0, kReferrers.size() - 1)]});

    id.study_uid = make_uid(options.seed, options.kind, UidRole::study, study);
    id.series_uid = make_uid(options.seed, options.kind, UidRole::series, study);
    id.frame_of_reference_uid =
        make_uid(options.seed, options.kind, UidRole::frame_of_reference, study);
    return id;
}

std::string dicom_time(std::uint64_t seconds_of_day) {
    const std::uint64_t s = seconds_of_day > 86399U ? 86399U : seconds_of_day;
    std::array<char, 16> text{};
    std::snprintf(text.data(), text.size(), "%02u%02u%02u", static_cast<unsigned>(s / 3600U),
                  static_cast<unsigned>(s / 60U % 60U), static_cast<unsigned>(s % 60U));
    return text.data();
}

}  // namespace countylink::synth
