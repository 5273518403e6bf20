; Outrigger's Windows installer (NSIS 3, Debian's `nsis`: makensis).
; Built by packaging/windows.sh, which defines:
;   VERSION      app version (FyneApp.toml), e.g. 0.1.0
;   VIVERSION    the same as four numbers, e.g. 0.1.0.1
;   STAGE        folder holding outrigger.exe and binaries\*.exe
;   OUTFILE      the setup program to write
;   ICON         the .ico file
;   FILES        an include file with the InstallFiles/UninstallFiles/
;                StopSidecars macros (one line per shipped file)
;
; Per user, without admin rights: %LOCALAPPDATA%\Programs\Outrigger, a
; Start-menu entry, an uninstaller registered under HKCU. A running
; Outrigger (and its sidecars) is stopped before files are replaced, so an
; upgrade never fails with "Error opening file for writing". The uninstaller
; removes every file it installed; the user's settings, logs and data
; (%APPDATA%\outrigger, %LOCALAPPDATA%\Outrigger) are left, as on Linux.

; A 64-bit installer: the app is amd64 only, and Wine without its 32-bit
; half (Debian's wine32:i386) runs no 32-bit program.
Target amd64-unicode
SetCompressor /SOLID lzma
RequestExecutionLevel user
ManifestDPIAware true

!define APPNAME "Outrigger"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Outrigger"

Name "${APPNAME}"
OutFile "${OUTFILE}"
Icon "${ICON}"
UninstallIcon "${ICON}"
InstallDir "$LOCALAPPDATA\Programs\Outrigger"
InstallDirRegKey HKCU "${UNINSTKEY}" "InstallLocation"
ShowInstDetails show
ShowUninstDetails show

VIProductVersion "${VIVERSION}"
VIAddVersionKey "ProductName" "${APPNAME}"
VIAddVersionKey "FileDescription" "${APPNAME} setup"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "Outrigger authors"

!include "${FILES}"

Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

; StopOutrigger ends a running Outrigger and its sidecars: first politely
; (taskkill without /F sends WM_CLOSE: the window quits and stops its
; sidecars) with up to 5 s to go, then by force in any case (a no-op when it
; is gone; needed under Wine, which does not lock a running executable, so
; the wait below cannot tell there). The sidecars live in kill-on-close job
; objects of the app, so they end with it; the shipped ones are also ended
; by name in case a crash left one. Then it waits (10 s at most) until the
; executable can be written: a process that just ended may hold it for a
; moment. (No /T: Wine's taskkill refuses it, and the jobs make it moot.)
!macro StopOutriggerBody un
	DetailPrint "Stopping a running Outrigger, if any"
	IfFileExists "$INSTDIR\outrigger.exe" 0 ${un}stop_done
	nsExec::Exec 'taskkill /IM outrigger.exe'
	Pop $0
	StrCpy $1 20
	Call ${un}WaitWritable
	nsExec::Exec 'taskkill /F /IM outrigger.exe'
	Pop $0
	!insertmacro StopSidecars
	StrCpy $1 40
	Call ${un}WaitWritable
	${un}stop_done:
!macroend

; WaitWritable tries to open outrigger.exe for writing up to $1 times, 250 ms
; apart; $0 is "ok" when it could.
!macro WaitWritableBody un
Function ${un}WaitWritable
	loop:
		ClearErrors
		FileOpen $0 "$INSTDIR\outrigger.exe" a
		IfErrors busy
		FileClose $0
		StrCpy $0 "ok"
		Return
	busy:
		IntOp $1 $1 - 1
		IntCmp $1 0 give_up give_up
		Sleep 250
		Goto loop
	give_up:
		StrCpy $0 "busy"
FunctionEnd
!macroend
!insertmacro WaitWritableBody ""
!insertmacro WaitWritableBody "un."

Function StopOutrigger
	!insertmacro StopOutriggerBody ""
FunctionEnd

Function un.StopOutrigger
	!insertmacro StopOutriggerBody "un."
FunctionEnd

Section "Outrigger"
	SetShellVarContext current
	Call StopOutrigger
	SetOutPath "$INSTDIR"
	!insertmacro InstallFiles
	WriteUninstaller "$INSTDIR\uninstall.exe"
	CreateShortCut "$SMPROGRAMS\Outrigger.lnk" "$INSTDIR\outrigger.exe" "" "$INSTDIR\outrigger.exe" 0
	WriteRegStr HKCU "${UNINSTKEY}" "DisplayName" "${APPNAME}"
	WriteRegStr HKCU "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
	WriteRegStr HKCU "${UNINSTKEY}" "Publisher" "Outrigger authors"
	WriteRegStr HKCU "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\outrigger.exe"
	WriteRegStr HKCU "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
	WriteRegStr HKCU "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
	WriteRegStr HKCU "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
	WriteRegDWORD HKCU "${UNINSTKEY}" "NoModify" 1
	WriteRegDWORD HKCU "${UNINSTKEY}" "NoRepair" 1
SectionEnd

Section "Uninstall"
	SetShellVarContext current
	Call un.StopOutrigger
	!insertmacro UninstallFiles
	Delete "$INSTDIR\uninstall.exe"
	RMDir "$INSTDIR\binaries"
	RMDir "$INSTDIR"
	Delete "$SMPROGRAMS\Outrigger.lnk"
	DeleteRegKey HKCU "${UNINSTKEY}"
	; Start at login (Settings) writes these; an uninstalled app must not be started
	DeleteRegValue HKCU "Software\Microsoft\Windows\CurrentVersion\Run" "Outrigger"
	DeleteRegValue HKCU "Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run" "Outrigger"
SectionEnd
