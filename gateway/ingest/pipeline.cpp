#include "gateway/ingest/pipeline.hpp"
#include "gateway/server/clock.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <system_error>

#include "codecs/dicom/part10.hpp"
#include "codecs/dicom/sop_classes.hpp"
#include "gateway/dicom/dimse.hpp"
#include "gateway/ingest/instance_record.hpp"

namespace countylink::ingest {
namespace fs = std::filesystem;
namespace cd = codecs::dicom;
namespace status = dicom::status;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string label_or_none(const std::string& v) {
    return v.empty() ? "none" : v;
}

}  // namespace

uint16_t status_for_finding(const std::string& code) {
    if (code == "uid_mismatch") return status::dataset_mismatch;
    if (code == "unparseable") return status::cannot_understand;
    if (code == "missing_uid") return status::cannot_understand + 1;
    if (code == "malformed_uid") return status::cannot_understand + 2;
    if (code == "pixel_data_short") return status::cannot_understand + 3;
    return status::cannot_understand + 4;
}

Pipeline::Pipeline(const config::Config& config, StorageStage storage, const route::Router& router,
                   metrics::GatewayMetrics& metrics, server::Health& health, server::Log& log)
    : config_(config),
      fatal_codes_(config.validation.fatal.begin(), config.validation.fatal.end()),
      ecg_params_(quality_params(config.ecg)),
      storage_(std::move(storage)),
      router_(router),
      metrics_(metrics),
      health_(health),
      log_(log) {}

IngestOutcome Pipeline::ingest(const IngestRequest& request) {
    const auto validate_start = Clock::now();
    const cd::CheckReport report =
        cd::check_part10_file(request.file, request.expected, fatal_codes_);
    metrics_.stage_latency.with({"validate"}).observe(seconds_since(validate_start));
    for (const auto& f : report.findings) metrics_.findings_total.with({f.code}).inc();

    if (!request.required_study_uid.empty() &&
        report.ids.study_instance_uid != request.required_study_uid) {
        return refuse(request, report,
                      {"uid_mismatch", "Study Instance UID differs from the one in the request"});
    }
    if (report.fatal) {
        for (const auto& f : report.findings) {
            if (fatal_codes_.contains(f.code) || cd::always_fatal_codes().contains(f.code)) {
                return refuse(request, report, f);
            }
        }
    }
    std::optional<EcgAssessment> ecg = request.ecg;
    if (!ecg && codecs::dicom::is_ecg_sop_class(report.ids.sop_class_uid)) {
        const auto gate_start = Clock::now();
        ecg = assess_dicom_file(request.file, ecg_params_);
        metrics_.stage_latency.with({"ecg_quality"}).observe(seconds_since(gate_start));
    }
    if (ecg) {
        metrics_.ecg_total.with({request.township, ecg->record.format, ecg->record.verdict}).inc();
        for (const auto& f : ecg->findings) metrics_.ecg_findings_total.with({f.code}).inc();
    }
    try {
        return store(request, report, std::move(ecg));
    } catch (const std::system_error& e) {
        const bool full = e.code() == std::errc::no_space_on_device;
        if (full) health_.storage_failed("data directory full");
        return store_failed(request, report, e,
                            full ? "gateway disk full, retry later" : "storage error, retry later");
    } catch (const std::exception& e) {
        return store_failed(request, report, e, "storage error, retry later");
    }
}

IngestOutcome Pipeline::store_failed(const IngestRequest& request, const cd::CheckReport& report,
                                     const std::exception& error, const std::string& why) {
    log_.error("store failed for instance ", request.expected.sop_instance_uid, ": ", error.what());
    metrics_.objects_total.with({"failed", request.township, label_or_none(report.ids.modality)})
        .inc();
    IngestOutcome out;
    out.result = IngestOutcome::Result::refused;
    out.status = status::out_of_resources;
    out.comment = why;
    out.sop_instance_uid = report.ids.sop_instance_uid;
    out.modality = report.ids.modality;
    out.study_instance_uid = report.ids.study_instance_uid;
    return out;
}

IngestOutcome Pipeline::store(const IngestRequest& request, const cd::CheckReport& report,
                              std::optional<EcgAssessment> ecg) {
    const auto start = Clock::now();
    const auto samples =
        report.samples ? cd::locate_samples(request.file, *report.samples) : std::nullopt;
    // Written now, made durable while the index commits (GroupCommit::commit).
    store::PendingBlob pending = storage_.blobs.write(request.file, samples);
    const store::BlobRef& blob = pending.ref();

    const auto& ids = report.ids;
    store::InstanceRecord record = record_of(ids);
    record.township = request.township;
    record.calling_ae = request.calling_ae;
    record.received_at_ms = request.received_at_ms;
    record.stored_at_ms = server::unix_now_ms();
    record.raw_size = blob.raw_size;
    record.stored_size = blob.stored_size;
    record.sha256 = blob.sha256;
    const auto route_start = Clock::now();
    const route::Routing routing =
        router_.route(ids, request.township, ecg ? ecg->record.verdict : std::string());
    metrics_.stage_latency.with({"route"}).observe(seconds_since(route_start));
    record.queues = routing.queues;
    record.forward = routing.forward;
    record.priority = static_cast<int>(routing.priority);
    record.immediate = routing.immediate;
    // An unacceptable ECG is stored and read, but the sender hears at once why it must be redone.
    std::string comment = ecg ? ecg->comment : std::string();
    if (ecg) record.ecg = ecg->record;
    // Notices (a guessed character set) are flagged in the index but alone keep status success.
    const bool flawed =
        std::any_of(report.findings.begin(), report.findings.end(),
                    [](const cd::Finding& f) { return !cd::notice_codes().contains(f.code); });
    for (const auto& f : report.findings) {
        record.flags += (record.flags.empty() ? "" : ",") + f.code;
        if (flawed) comment += (comment.empty() ? "" : "; ") + f.reason;
    }

    const store::RecordOutcome outcome =
        storage_.commits.commit(record, [&] { storage_.blobs.publish(pending); });
    metrics_.stage_latency.with({"store"}).observe(seconds_since(start));
    health_.storage_ok();

    IngestOutcome out;
    out.sop_instance_uid = ids.sop_instance_uid;
    out.study_instance_uid = ids.study_instance_uid;
    out.modality = ids.modality;
    out.raw_bytes = blob.raw_size;
    out.stored_bytes = blob.stored_size;
    out.status = flawed                     ? status::warning_not_conformant
                 : ecg && ecg->unacceptable ? status::warning_ecg_unacceptable
                                            : status::success;
    out.comment = comment;
    out.ecg = std::move(ecg);
    std::string label;
    switch (outcome) {
        case store::RecordOutcome::stored:
            out.result = IngestOutcome::Result::stored;
            label = out.status == status::success ? "stored" : "stored_with_warning";
            break;
        case store::RecordOutcome::duplicate:
            out.result = IngestOutcome::Result::duplicate;
            label = "duplicate";
            break;
        case store::RecordOutcome::new_version:
            out.result = IngestOutcome::Result::new_version;
            label = "new_version";
            break;
    }
    metrics_.objects_total.with({label, request.township, label_or_none(ids.modality)}).inc();
    metrics_.township_last_seen.with({request.township}).set(record.stored_at_ms / 1000);
    if (outcome != store::RecordOutcome::duplicate) {
        metrics_.bytes_raw_total.with({request.township}).inc(blob.raw_size);
        metrics_.bytes_stored_total.with({request.township}).inc(blob.stored_size);
    }
    return out;
}

IngestOutcome Pipeline::refuse(const IngestRequest& request, const cd::CheckReport& report,
                               const cd::Finding& finding) {
    IngestOutcome out;
    out.result = IngestOutcome::Result::refused;
    out.status = status_for_finding(finding.code);
    out.comment = finding.reason;
    out.sop_instance_uid = report.ids.sop_instance_uid;
    out.study_instance_uid = report.ids.study_instance_uid;
    out.modality = report.ids.modality;

    store::QuarantineRecord q;
    q.sop_instance_uid = report.ids.sop_instance_uid.empty() ? request.expected.sop_instance_uid
                                                             : report.ids.sop_instance_uid;
    q.sop_class_uid = report.ids.sop_class_uid.empty() ? request.expected.sop_class_uid
                                                       : report.ids.sop_class_uid;
    q.township = request.township;
    q.calling_ae = request.calling_ae;
    q.received_at_ms = request.received_at_ms;
    q.status = out.status;
    q.finding = finding.code;
    q.reason = finding.reason;
    try {
        q.size = fs::file_size(request.file);
        q.file = request.file.filename().replace_extension(".dcm").string();
        fs::rename(request.file, storage_.quarantine_dir / q.file);
        io::sync_directory(storage_.quarantine_dir);
        storage_.index.record_quarantine(q);
    } catch (const std::exception& e) {
        // The refusal stands; the sender still has the object and the reason.
        log_.error("could not quarantine refused object: ", e.what());
    }
    log_.warn("refused object from ", request.calling_ae, " (", request.township, "): status 0x",
              std::hex, out.status, std::dec, " ", finding.code, ": ", finding.reason);
    metrics_.objects_total.with({"refused", request.township, label_or_none(report.ids.modality)})
        .inc();
    return out;
}

}  // namespace countylink::ingest
