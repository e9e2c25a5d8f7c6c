//! Topic IDs (KIP-516): the identity of one incarnation of a topic. A topic deleted and
//! created again under the same name starts its offsets at 0 again but gets a new ID,
//! so the sink keys its marks on the ID as well as the name. rdkafka 0.39 does not
//! wrap librdkafka's `DescribeTopics`, so this module calls it directly.

use std::ffi::{CStr, CString};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rdkafka::bindings as rd;
use rdkafka::consumer::Consumer;

use super::kafka::KafkaConsumer;

/// Asks the cluster for the ID of `topic`, in librdkafka's base64 form. `None` when
/// the broker does not know topic IDs (before Kafka 2.8) or the topic does not exist.
#[allow(unsafe_code)]
pub fn describe(
    consumer: &KafkaConsumer,
    topic: &str,
    timeout: Duration,
) -> Result<Option<String>> {
    let rk = consumer.client().native_ptr();
    let name =
        CString::new(topic).with_context(|| format!("topic name {topic:?} holds a NUL byte"))?;
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: `rk` is the consumer's live handle, borrowed for this call. Every object
    // created here is destroyed before returning, on every path, after the last read
    // of anything it owns; strings read out of the result are copied first.
    unsafe {
        let mut names = [name.as_ptr()];
        let topics = rd::rd_kafka_TopicCollection_of_topic_names(names.as_mut_ptr(), 1);
        let options = rd::rd_kafka_AdminOptions_new(
            rk,
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBETOPICS,
        );
        let mut errstr = [0 as std::ffi::c_char; 256];
        rd::rd_kafka_AdminOptions_set_request_timeout(
            options,
            timeout_ms,
            errstr.as_mut_ptr(),
            errstr.len(),
        );
        let queue = rd::rd_kafka_queue_new(rk);
        rd::rd_kafka_DescribeTopics(rk, topics, options, queue);
        let event = rd::rd_kafka_queue_poll(queue, timeout_ms.saturating_add(1000));
        let result = read_result(event, topic);
        if !event.is_null() {
            rd::rd_kafka_event_destroy(event);
        }
        rd::rd_kafka_queue_destroy(queue);
        rd::rd_kafka_AdminOptions_destroy(options);
        rd::rd_kafka_TopicCollection_destroy(topics);
        result
    }
}

/// Reads the one topic's ID out of a `DescribeTopics` result event.
#[allow(unsafe_code)]
unsafe fn read_result(event: *mut rd::rd_kafka_event_t, topic: &str) -> Result<Option<String>> {
    if event.is_null() {
        bail!("describing topic {topic}: the broker did not answer in time");
    }
    // SAFETY (whole body): `event` is a live event owned by the caller; the pointers
    // read from it stay valid until the caller destroys it, after this returns.
    unsafe {
        let err = rd::rd_kafka_event_error(event);
        if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            let text = CStr::from_ptr(rd::rd_kafka_event_error_string(event)).to_string_lossy();
            bail!("describing topic {topic}: {text}");
        }
        let result = rd::rd_kafka_event_DescribeTopics_result(event);
        if result.is_null() {
            bail!("describing topic {topic}: not a DescribeTopics result");
        }
        let mut count = 0usize;
        let descs = rd::rd_kafka_DescribeTopics_result_topics(result, &mut count);
        for i in 0..count {
            let desc = *descs.add(i);
            let name = CStr::from_ptr(rd::rd_kafka_TopicDescription_name(desc)).to_string_lossy();
            if name != topic {
                continue;
            }
            let error = rd::rd_kafka_TopicDescription_error(desc);
            if !error.is_null()
                && rd::rd_kafka_error_code(error)
                    != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
            {
                let code = rd::rd_kafka_error_code(error);
                if code == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART {
                    return Ok(None);
                }
                let text = CStr::from_ptr(rd::rd_kafka_error_string(error)).to_string_lossy();
                bail!("describing topic {topic}: {text}");
            }
            let uuid = rd::rd_kafka_TopicDescription_topic_id(desc);
            if uuid.is_null() {
                return Ok(None);
            }
            let text = rd::rd_kafka_Uuid_base64str(uuid);
            if text.is_null() {
                return Ok(None);
            }
            let id = CStr::from_ptr(text).to_string_lossy().into_owned();
            // A broker without topic IDs answers with the all-zero UUID.
            return Ok((!id.is_empty() && id != "AAAAAAAAAAAAAAAAAAAAAA").then_some(id));
        }
        Ok(None)
    }
}
