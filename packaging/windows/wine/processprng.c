/*
 * bcryptprimitives.dll with ProcessPrng, for Wine 8 only.
 *
 * Go >= 1.24 takes its randomness from ProcessPrng in bcryptprimitives.dll
 * (Windows 10 and later have it). Wine 8 lacks that export, so every Go
 * program dies at start-up under it. scripts/test-windows.sh builds this
 * file with mingw-w64 into a throwaway Wine prefix's system32 and tells Wine
 * to prefer it; it is never shipped to users.
 */
#include <windows.h>

/* RtlGenRandom: the documented-in-practice name is SystemFunction036. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
	while (length > 0) {
		ULONG n = length > 0x40000000 ? 0x40000000 : (ULONG)length;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		length -= n;
	}
	return TRUE; /* as on Windows: ProcessPrng does not fail */
}
