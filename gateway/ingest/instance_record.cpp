#include "gateway/ingest/instance_record.hpp"

namespace countylink::ingest {

store::InstanceRecord record_of(const codecs::dicom::Identifiers& ids) {
    store::InstanceRecord r;
    r.sop_instance_uid = ids.sop_instance_uid;
    r.sop_class_uid = ids.sop_class_uid;
    r.study_instance_uid = ids.study_instance_uid;
    r.series_instance_uid = ids.series_instance_uid;
    r.patient_id = ids.patient_id;
    r.patient_name = ids.patient_name;
    r.modality = ids.modality;
    r.study_date = ids.study_date;
    r.accession_number = ids.accession_number;
    r.transfer_syntax_uid = ids.transfer_syntax_uid;
    r.study_time = ids.study_time;
    r.study_description = ids.study_description;
    r.body_part = ids.body_part;
    r.study_id = ids.study_id;
    r.patient_birth_date = ids.patient_birth_date;
    r.patient_sex = ids.patient_sex;
    r.series_number = ids.series_number;
    r.series_description = ids.series_description;
    r.instance_number = ids.instance_number;
    return r;
}

}  // namespace countylink::ingest
