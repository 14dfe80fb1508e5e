// Which abstract and transfer syntaxes the gateway accepts in association negotiation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace countylink::codecs::dicom {

inline constexpr std::string_view kVerificationSopClass = "1.2.840.10008.1.1";
inline constexpr std::string_view kApplicationContext = "1.2.840.10008.3.1.1.1";
inline constexpr std::string_view kImplicitVrLittleEndian = "1.2.840.10008.1.2";

// True for Verification and every Storage SOP Class in the standard (DCMTK's list, which
// includes the ECG waveform classes).
bool is_accepted_sop_class(std::string_view uid);

// Every Storage SOP Class we accept (DCMTK's list), in DCMTK's order.
std::vector<std::string> storage_sop_classes();

// Every transfer syntax we accept, in our order.
std::vector<std::string> accepted_transfer_syntaxes();

// The DICOM name of a UID ("CT Image Storage"), or the UID itself when unknown.
std::string uid_name(std::string_view uid);

// True for image storage SOP classes (DCMTK's list): what goes to the imaging reading queue.
bool is_image_sop_class(std::string_view uid);

// True for the ECG waveform classes: 12-lead, General and Ambulatory ECG.
bool is_ecg_sop_class(std::string_view uid);

// True for every transfer syntax we store as sent: implicit/explicit VR LE, explicit BE,
// deflated, and the encapsulated JPEG, JPEG-LS, JPEG 2000, HTJ2K, RLE and video families.
bool is_accepted_transfer_syntax(std::string_view uid);

}  // namespace countylink::codecs::dicom
