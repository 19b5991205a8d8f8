#include "decode_output.h"

#include <charconv>
#include <cmath>

namespace canvoy::agent {
namespace {

template <class T>
void AppendNumber(T value, std::string* out) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, value);
  out->append(text, result.ptr);
}

void AppendRaw(const DecodedSignal& signal, std::string* out) {
  if (signal.raw_signed) {
    AppendNumber(signal.raw_as_int64(), out);
  } else {
    AppendNumber(signal.raw, out);
  }
}

// RFC 4180: quote when the field holds a comma, quote or line break.
void AppendCsvField(std::string_view field, bool always_quote, std::string* out) {
  if (!always_quote && field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(field);
    return;
  }
  out->push_back('"');
  for (char c : field) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendJsonString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 0xF]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace

void AppendPhysical(const PhysicalValue& value, std::string* out) {
  switch (value.index()) {
    case 0:
      AppendNumber(std::get<std::int64_t>(value), out);
      return;
    case 1:
      AppendNumber(std::get<std::uint64_t>(value), out);
      return;
    default:
      break;
  }
  const double d = std::get<double>(value);
  if (std::isnan(d)) {
    out->append("nan");
  } else if (std::isinf(d)) {
    out->append(d < 0 ? "-inf" : "inf");
  } else {
    AppendNumber(d, out);  // shortest round-trip form
  }
}

void AppendFrameId(std::uint32_t id, bool extended, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const int digits = extended ? 8 : 3;
  for (int i = digits - 1; i >= 0; --i) out->push_back(kHex[(id >> (4 * i)) & 0xF]);
}

void RowWriter::Header() {
  if (format_ == OutputFormat::kCsv)
    buffer_.append("timestamp,interface,frame_id,message,signal,raw,physical,label\n");
}

void RowWriter::Row(std::string_view timestamp, std::string_view interface_name,
                    const CanFrame& frame, const DbcMessage& message, const DecodedSignal& signal,
                    std::optional<std::uint8_t> source_address) {
  if (format_ == OutputFormat::kCsv) {
    CsvRow(timestamp, interface_name, frame, message, signal);
  } else {
    JsonRow(timestamp, interface_name, frame, message, signal, source_address);
  }
  if (buffer_.size() >= kFlushBytes) Flush();
}

void RowWriter::CsvRow(std::string_view timestamp, std::string_view interface_name,
                       const CanFrame& frame, const DbcMessage& message,
                       const DecodedSignal& signal) {
  buffer_.append(timestamp);
  buffer_.push_back(',');
  AppendCsvField(interface_name, false, &buffer_);
  buffer_.push_back(',');
  AppendFrameId(frame.id, frame.extended, &buffer_);
  buffer_.push_back(',');
  AppendCsvField(message.name, false, &buffer_);
  buffer_.push_back(',');
  AppendCsvField(message.signals[signal.signal_index].name, false, &buffer_);
  buffer_.push_back(',');
  AppendRaw(signal, &buffer_);
  buffer_.push_back(',');
  AppendPhysical(signal.physical, &buffer_);
  buffer_.push_back(',');
  if (!signal.label.empty()) AppendCsvField(signal.label, true, &buffer_);
  buffer_.push_back('\n');
}

void RowWriter::JsonRow(std::string_view timestamp, std::string_view interface_name,
                        const CanFrame& frame, const DbcMessage& message,
                        const DecodedSignal& signal, std::optional<std::uint8_t> source_address) {
  buffer_.append("{\"timestamp\":");
  AppendJsonString(timestamp, &buffer_);
  buffer_.append(",\"timestamp_us\":");
  AppendNumber(frame.timestamp_us, &buffer_);
  buffer_.append(",\"interface\":");
  AppendJsonString(interface_name, &buffer_);
  buffer_.append(",\"frame_id\":\"");
  AppendFrameId(frame.id, frame.extended, &buffer_);
  buffer_.append("\",");
  if (source_address) {
    buffer_.append("\"source_address\":");
    AppendNumber(static_cast<std::int64_t>(*source_address), &buffer_);
    buffer_.push_back(',');
  }
  buffer_.append("\"message\":");
  AppendJsonString(message.name, &buffer_);
  buffer_.append(",\"signal\":");
  AppendJsonString(message.signals[signal.signal_index].name, &buffer_);
  buffer_.append(",\"raw\":");
  AppendRaw(signal, &buffer_);
  buffer_.append(",\"physical\":");
  const auto* d = std::get_if<double>(&signal.physical);
  if (d != nullptr && !std::isfinite(*d)) {
    buffer_.push_back('"');  // JSON has no NaN or infinity
    AppendPhysical(signal.physical, &buffer_);
    buffer_.push_back('"');
  } else {
    AppendPhysical(signal.physical, &buffer_);
  }
  buffer_.append(",\"label\":");
  if (signal.label.empty()) {
    buffer_.append("null");
  } else {
    AppendJsonString(signal.label, &buffer_);
  }
  buffer_.append("}\n");
}

bool RowWriter::Flush() {
  if (!buffer_.empty()) {
    std::fwrite(buffer_.data(), 1, buffer_.size(), out_);
    buffer_.clear();
  }
  return std::fflush(out_) == 0 && std::ferror(out_) == 0;
}

}  // namespace canvoy::agent
