// The one path every received object takes, whatever protocol brought it:
// validate (DCMTK) -> store (zstd blob + group-committed index) or quarantine.
// Runs on a worker thread; the protocol front end awaits the outcome and answers with it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "codecs/dicom/dataset_check.hpp"
#include "config/config.hpp"
#include "gateway/ingest/ecg_gate.hpp"
#include "gateway/metrics/gateway_metrics.hpp"
#include "gateway/route/router.hpp"
#include "gateway/server/health.hpp"
#include "gateway/server/log.hpp"
#include "gateway/store/blob_store.hpp"
#include "gateway/store/group_commit.hpp"
#include "gateway/store/index.hpp"

namespace countylink::ingest {

struct IngestRequest {
    std::filesystem::path file;  // complete Part-10 file in the spool
    std::string calling_ae, township;
    codecs::dicom::Expected expected;  // what the C-STORE-RQ said (empty for STOW)
    int64_t received_at_ms = 0;
    std::string required_study_uid;  // STOW-RS to /studies/{uid}: others are refused
    // Set by front ends that already read and judged the waveform (an uploaded non-DICOM ECG
    // converted to DICOM); otherwise ECG objects are read from `file` and judged here.
    std::optional<EcgAssessment> ecg;
};

struct IngestOutcome {
    enum class Result { stored, duplicate, new_version, refused };
    Result result = Result::refused;
    uint16_t status = 0;  // DIMSE status to answer with
    std::string comment;  // Error Comment: why, readable, no patient data
    std::string sop_instance_uid, modality;
    uint64_t raw_bytes = 0, stored_bytes = 0;
    std::string study_instance_uid;    // for the audit trail; empty when unreadable
    std::optional<EcgAssessment> ecg;  // waveform objects: the quality gate's verdict
};

// The storage a pipeline writes to, bundled so front ends need one reference.
struct StorageStage {
    store::BlobStore& blobs;
    store::GroupCommit& commits;
    store::Index& index;
    std::filesystem::path quarantine_dir;
};

class Pipeline {
  public:
    Pipeline(const config::Config& config, StorageStage storage, const route::Router& router,
             metrics::GatewayMetrics& metrics, server::Health& health, server::Log& log);

    // Validates and stores (or quarantines) the object; blocking, so call it on a worker.
    // Success or warning is returned only once the object and its index row are durable.
    IngestOutcome ingest(const IngestRequest& request);

  private:
    IngestOutcome refuse(const IngestRequest& request, const codecs::dicom::CheckReport& report,
                         const codecs::dicom::Finding& finding);
    IngestOutcome store_failed(const IngestRequest& request,
                               const codecs::dicom::CheckReport& report,
                               const std::exception& error, const std::string& why);
    IngestOutcome store(const IngestRequest& request, const codecs::dicom::CheckReport& report,
                        std::optional<EcgAssessment> ecg);

    const config::Config& config_;
    std::set<std::string> fatal_codes_;
    codecs::ecg::QualityParams ecg_params_;
    StorageStage storage_;
    const route::Router& router_;
    metrics::GatewayMetrics& metrics_;
    server::Health& health_;
    server::Log& log_;
};

// DIMSE status for a fatal finding: 0xA900 for a dataset/command mismatch, 0xC000-0xC004 for
// the rest (see docs/dimse-status.md).
uint16_t status_for_finding(const std::string& code);

}  // namespace countylink::ingest
