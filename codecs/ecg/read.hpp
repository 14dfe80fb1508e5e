// Reading an ECG file of any supported format: recognise it, then hand it to its parser.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string_view>

#include "codecs/ecg/waveform.hpp"

namespace countylink::codecs::ecg {

// The format of `bytes`: from the content type when it names exactly one format
// (application/dicom, application/x-scp-ecg, application/hl7-v3+xml ...), else from the bytes
// (DICM preamble, SCP section-0 "SCPECG" tag, EDF header, XML root element). nullopt if unknown.
std::optional<Format> sniff(std::span<const std::byte> bytes, std::string_view content_type = {});

// Parses a whole uploaded file. Unknown formats fail with ErrorKind::unknown_format.
ParseResult read_ecg(std::span<const std::byte> bytes, std::string_view content_type = {});

// Per-format parsers (one file each in codecs/ecg). `bytes` is the whole file.
ParseResult read_dicom_ecg(std::span<const std::byte> bytes);
ParseResult read_dicom_ecg_file(const std::filesystem::path& path);  // values stay on disk
ParseResult read_aecg(std::span<const std::byte> bytes);
ParseResult read_scp(std::span<const std::byte> bytes);
ParseResult read_sierra(std::span<const std::byte> bytes);
ParseResult read_muse(std::span<const std::byte> bytes);
ParseResult read_edf(std::span<const std::byte> bytes);
// WFDB needs two files: `header` is the .hea, its signal files are read from beside it.
ParseResult read_wfdb(const std::filesystem::path& header);

}  // namespace countylink::codecs::ecg
