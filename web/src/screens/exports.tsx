import { useI18n } from '../i18n';
import type { ScreenProps } from '.';

export function ExportsScreen(_: ScreenProps) {
  const { t } = useI18n();
  return <h1 tabIndex={-1}>{t.exports.title}</h1>;
}
