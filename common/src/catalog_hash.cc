#include "canvoy/common/catalog_hash.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "canvoy/common/hash.h"

namespace canvoy {

std::string CatalogHash(const telemetry::v1::Catalog& catalog) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    catalog.SerializeToCodedStream(&out);
  }
  return Sha256(bytes);
}

}  // namespace canvoy
