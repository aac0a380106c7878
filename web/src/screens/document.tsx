import { useI18n } from '../i18n';
import type { ScreenProps } from '.';

export function DocumentScreen({ params }: ScreenProps) {
  const { t } = useI18n();
  return <h1 tabIndex={-1}>{t.document.title(params.id ?? '')}</h1>;
}
