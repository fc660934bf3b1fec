#include "common/request.h"

namespace rrca {

std::string_view OperationName(Operation operation) {
  switch (operation) {
    case Operation::kBase:
      return "base";
    case Operation::kCatalog:
      return "catalog";
    case Operation::kTagsList:
      return "tags_list";
    case Operation::kManifestGet:
      return "manifest_get";
    case Operation::kManifestHead:
      return "manifest_head";
    case Operation::kManifestPut:
      return "manifest_put";
    case Operation::kManifestDelete:
      return "manifest_delete";
    case Operation::kBlobGet:
      return "blob_get";
    case Operation::kBlobHead:
      return "blob_head";
    case Operation::kBlobDelete:
      return "blob_delete";
    case Operation::kBlobUploadStart:
      return "blob_upload_start";
    case Operation::kBlobUploadChunk:
      return "blob_upload_chunk";
    case Operation::kBlobUploadComplete:
      return "blob_upload_complete";
    case Operation::kBlobUploadStatus:
      return "blob_upload_status";
    case Operation::kBlobUploadCancel:
      return "blob_upload_cancel";
    case Operation::kOther:
    case Operation::kCount:
      break;
  }
  return "other";
}

}  // namespace rrca
