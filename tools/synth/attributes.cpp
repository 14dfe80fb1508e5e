#include "attributes.hpp"

#include <array>
#include <cstdio>
#include <stdexcept>

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcuid.h"

namespace countylink::synth {

namespace {

constexpr std::string_view kManufacturer = "CountyLink Synthetic";
constexpr std::string_view kInstitution = "Township Health Centre";
constexpr std::string_view kInstitutionAddress = "1 Clinic Road, Township";
constexpr std::string_view kSoftware = "countylink-synth 0.1";

constexpr KindProfile kCt{
    .sop_class_uid = UID_CTImageStorage,
    .modality = "CT",
    .model = "SynthCT 16",
    .station = "TWP-CT01",
    .study_description = "CT CHEST",
    .series_description = "CHEST 5.0 STANDARD",
    .body_part = "CHEST",
};
constexpr KindProfile kDx{
    .sop_class_uid = UID_DigitalXRayImageStorageForPresentation,
    .modality = "DX",
    .model = "SynthDR 43",
    .station = "TWP-DR01",
    .study_description = "XR CHEST PA",
    .series_description = "CHEST PA",
    .body_part = "CHEST",
};
constexpr KindProfile kCr{
    .sop_class_uid = UID_ComputedRadiographyImageStorage,
    .modality = "CR",
    .model = "SynthCR 35",
    .station = "TWP-CR01",
    .study_description = "XR CHEST PA",
    .series_description = "CHEST PA",
    .body_part = "CHEST",
};
constexpr KindProfile kUs{
    .sop_class_uid = UID_UltrasoundImageStorage,
    .modality = "US",
    .model = "SynthUS C5",
    .station = "TWP-US01",
    .study_description = "US ABDOMEN",
    .series_description = "ABDOMEN",
    .body_part = "ABDOMEN",
};
constexpr KindProfile kEcg{
    .sop_class_uid = UID_TwelveLeadECGWaveformStorage,
    .modality = "ECG",
    .model = "SynthECG 12",
    .station = "TWP-ECG01",
    .study_description = "RESTING ECG",
    .series_description = "12-LEAD RESTING",
    .body_part = "",
};
constexpr KindProfile kMf{
    .sop_class_uid = UID_MultiframeGrayscaleWordSecondaryCaptureImageStorage,
    .modality = "OT",
    .model = "SynthCine",
    .station = "TWP-WS01",
    .study_description = "SYNTHETIC CINE",
    .series_description = "CARDIAC CINE LOOP",
    .body_part = "HEART",
};

// Throws if `status` is bad, naming the attribute.
void check(const OFCondition& status, const DcmTagKey& tag) {
    if (status.good()) return;
    throw std::runtime_error("cannot set DICOM attribute " + std::string{tag.toString().c_str()} +
                             ": " + status.text());
}

}  // namespace

const KindProfile& profile_of(Kind kind) {
    switch (kind) {
        case Kind::ct:
            return kCt;
        case Kind::dx:
            return kDx;
        case Kind::cr:
            return kCr;
        case Kind::us:
            return kUs;
        case Kind::ecg:
            return kEcg;
        case Kind::mf:
            break;
    }
    return kMf;
}

void put(DcmItem& item, const DcmTagKey& tag, const std::string& value) {
    check(item.putAndInsertString(tag, value.c_str()), tag);
}

void put_us(DcmItem& item, const DcmTagKey& tag, Uint16 value) {
    check(item.putAndInsertUint16(tag, value), tag);
}

void put_ul(DcmItem& item, const DcmTagKey& tag, Uint32 value) {
    check(item.putAndInsertUint32(tag, value), tag);
}

void put_ss(DcmItem& item, const DcmTagKey& tag, Sint16 value) {
    check(item.putAndInsertSint16(tag, value), tag);
}

void put_sl(DcmItem& item, const DcmTagKey& tag, Sint32 value) {
    check(item.putAndInsertSint32(tag, value), tag);
}

void put_fd(DcmItem& item, const DcmTagKey& tag, Float64 value) {
    check(item.putAndInsertFloat64(tag, value), tag);
}

void put_empty(DcmItem& item, const DcmTagKey& tag) {
    check(item.insertEmptyElement(tag), tag);
}

DcmItem& append_item(DcmItem& item, const DcmTagKey& sequence) {
    DcmItem* created = nullptr;
    check(item.findOrCreateSequenceItem(sequence, created, -2), sequence);
    if (created == nullptr) throw std::runtime_error("DCMTK returned no sequence item");
    return *created;
}

void put_code(DcmItem& item, const DcmTagKey& sequence, const Code& code) {
    DcmItem& entry = append_item(item, sequence);
    put(entry, DCM_CodeValue, std::string{code.value});
    put(entry, DCM_CodingSchemeDesignator, std::string{code.scheme});
    if (!code.version.empty()) put(entry, DCM_CodingSchemeVersion, std::string{code.version});
    put(entry, DCM_CodeMeaning, std::string{code.meaning});
}

void put_common(DcmItem& dataset, const StudyIdentity& study, const ObjectSlot& slot,
                const KindProfile& profile, const std::string& sop_instance_uid,
                std::uint64_t content_seconds) {
    // SOP Common
    put(dataset, DCM_SOPClassUID, std::string{profile.sop_class_uid});
    put(dataset, DCM_SOPInstanceUID, sop_instance_uid);
    put(dataset, DCM_InstanceCreationDate, study.study_date);
    put(dataset, DCM_InstanceCreationTime, dicom_time(content_seconds));

    // Patient, Patient Study
    put(dataset, DCM_PatientName, study.patient_name);
    put(dataset, DCM_PatientID, study.patient_id);
    put(dataset, DCM_IssuerOfPatientID, "TOWNSHIP");
    put(dataset, DCM_PatientBirthDate, study.birth_date);
    put(dataset, DCM_PatientSex, study.sex);
    put(dataset, DCM_PatientAge, study.age);

    // General Study
    put(dataset, DCM_StudyInstanceUID, study.study_uid);
    put(dataset, DCM_StudyDate, study.study_date);
    put(dataset, DCM_StudyTime, dicom_time(study.study_seconds));
    put(dataset, DCM_ReferringPhysicianName, study.referring_physician);
    put(dataset, DCM_StudyID, study.study_id);
    put(dataset, DCM_AccessionNumber, study.accession_number);
    put(dataset, DCM_StudyDescription, std::string{profile.study_description});

    // General Series
    put(dataset, DCM_Modality, std::string{profile.modality});
    put(dataset, DCM_SeriesInstanceUID, study.series_uid);
    put(dataset, DCM_SeriesNumber, "1");
    put(dataset, DCM_SeriesDate, study.study_date);
    put(dataset, DCM_SeriesTime, dicom_time(study.study_seconds + 60U));
    put(dataset, DCM_SeriesDescription, std::string{profile.series_description});
    if (!profile.body_part.empty()) {
        put(dataset, DCM_BodyPartExamined, std::string{profile.body_part});
    }

    // General Equipment
    put(dataset, DCM_Manufacturer, std::string{kManufacturer});
    put(dataset, DCM_InstitutionName, std::string{kInstitution});
    put(dataset, DCM_InstitutionAddress, std::string{kInstitutionAddress});
    put(dataset, DCM_StationName, std::string{profile.station});
    put(dataset, DCM_ManufacturerModelName, std::string{profile.model});
    put(dataset, DCM_DeviceSerialNumber, std::string{profile.station.substr(4)} + "-0001");
    put(dataset, DCM_SoftwareVersions, std::string{kSoftware});

    // Instance position and time
    put(dataset, DCM_InstanceNumber, std::to_string(slot.instance));
    put(dataset, DCM_ContentDate, study.study_date);
    put(dataset, DCM_ContentTime, dicom_time(content_seconds));
}

std::string ds(double value, int decimals) {
    std::array<char, 32> text{};
    std::snprintf(text.data(), text.size(), "%.*f", decimals, value);
    std::string s{text.data()};
    if (s.find('.') != std::string::npos) {
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
    }
    if (s == "-0") s = "0";
    return s;
}

}  // namespace countylink::synth
