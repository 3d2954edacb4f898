#include "boot/bootinfo.h"

const char *mem_type_name(uint32_t type)
{
	switch (type) {
	case MEM_AVAILABLE: return "available";
	case MEM_RESERVED: return "reserved";
	case MEM_ACPI_RECLAIMABLE: return "ACPI reclaimable";
	case MEM_NVS: return "ACPI NVS";
	case MEM_BAD: return "bad RAM";
	default: return "reserved (unknown type)";
	}
}
