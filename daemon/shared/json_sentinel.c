/* placeholder until net.json lands */
const char lnet_json_empty_array = 0;
