// The network side of a C-STORE without the socket: a dataset framed as the sender's P-DATA-TF
// PDUs, and the association's receive loop over them (header, PDVs, spool file).
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <vector>

#include "codecs/dicom/part10.hpp"
#include "gateway/dicom/dimse.hpp"
#include "gateway/ingest/spool_file.hpp"
#include "tests/bench/inputs.hpp"

namespace countylink::bench {

// Bytes a PDV adds to its fragment: item length (4), context id, message control header.
inline constexpr std::size_t kPdvOverhead = 6;

// The C-STORE-RQ command set a modality sends for `object` (as storescu writes it).
dicom::Command store_request(const BenchObject& object);

struct PduStream {
    std::vector<std::byte> bytes;  // whole PDUs, headers included, back to back
    std::size_t pdus = 0;
};

// `dataset` as one-PDV P-DATA-TF PDUs whose bodies are at most `max_pdu` bytes (what the peer
// announced), as a sender frames it.
PduStream frame_dataset(std::span<const std::byte> dataset, std::size_t max_pdu);

// Decodes every PDU of `stream` and appends its dataset fragments to a spool file from `spool`
// after the Part-10 header for `meta`, as the association does. Throws on a bad PDU.
ingest::SpoolFile receive(std::span<const std::byte> stream, ingest::Spool& spool,
                          const codecs::dicom::MetaInfo& meta);

}  // namespace countylink::bench
